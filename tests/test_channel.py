"""Channel: interest changes reach the selector; empty interest unregisters."""

import socket
import time
from selectors import EVENT_READ

from reactor.channel import Channel
from tests.conftest import call_in_loop, wait_until


def reading_channel(loop, sock, on_read):
    """A channel on `loop` calling on_read when sock has data, made on the loop's thread."""
    def setup():
        channel = Channel(loop, sock)
        channel.on_read = on_read
        channel.enable_reading()
        return channel

    return call_in_loop(loop, setup)


def test_enable_and_disable_register_and_unregister(loop_thread):
    a, b = socket.socketpair()
    with a, b:
        def setup():
            channel = Channel(loop_thread, b)
            base = loop_thread.channel_count
            channel.enable_reading()
            channel.enable_writing()
            registered = loop_thread.channel_count
            channel.disable_writing()
            reading_only = channel.interest
            channel.disable_all()
            return base, registered, reading_only, loop_thread.channel_count, channel.registered

        base, registered, reading_only, after, still = call_in_loop(loop_thread, setup)
        assert registered == base + 1
        assert reading_only == EVENT_READ
        assert after == base and not still


def test_read_handler_runs_when_data_arrives(loop_thread):
    a, b = socket.socketpair()
    with a, b:
        b.setblocking(False)
        got = []

        def on_read():
            got.append(b.recv(100))

        channel = reading_channel(loop_thread, b, on_read)
        a.sendall(b"ping")
        assert wait_until(lambda: got == [b"ping"], timeout=2)
        call_in_loop(loop_thread, channel.disable_all)


def test_a_hung_up_fd_with_no_interest_does_not_make_the_loop_spin(loop_thread):
    a, b = socket.socketpair()
    with b:
        def setup():
            channel = Channel(loop_thread, b)
            channel.enable_reading()
            channel.disable_reading()  # no interest left, as under flow control
            return channel

        call_in_loop(loop_thread, setup)
        a.close()  # the peer hangs up: epoll would report EPOLLHUP forever
        time.sleep(0.05)
        before = loop_thread.iterations
        time.sleep(1.0)
        assert loop_thread.iterations - before <= 2


def test_a_read_handler_that_raises_is_logged_counted_and_the_loop_goes_on(loop_thread, caplog):
    a, b = socket.socketpair()
    with a, b:
        b.setblocking(False)
        got = []

        def on_read():
            data = b.recv(100)
            got.append(data)
            if data == b"bad":
                raise RuntimeError("handler bug")

        channel = reading_channel(loop_thread, b, on_read)
        a.sendall(b"bad")
        assert wait_until(lambda: got == [b"bad"], timeout=2)
        a.sendall(b"good")  # not a connection: the channel stays registered and served
        assert wait_until(lambda: got == [b"bad", b"good"], timeout=2)
        assert loop_thread.callback_errors == 1
        assert any("handler bug" in (r.exc_text or "") for r in caplog.records)
        call_in_loop(loop_thread, channel.disable_all)
