"""Buffer: append and retrieve, reuse of consumed space, recv_into."""

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor.buffer import Buffer


def test_append_then_retrieve_in_pieces():
    buf = Buffer(16)
    buf.append(b"hello, ")
    buf.append(bytearray(b"world"))
    assert len(buf) == 12
    assert buf.peek(5) == b"hello"
    assert buf.retrieve(7) == b"hello, "
    assert buf.retrieve_all() == b"world"
    assert len(buf) == 0


def test_retrieving_more_than_is_readable_raises():
    buf = Buffer(8)
    buf.append(b"abc")
    with pytest.raises(ValueError):
        buf.retrieve(4)


def test_peek_uint32_reads_big_endian():
    buf = Buffer(8)
    buf.append(b"\x00\x00\x01\x02rest")
    assert buf.peek_uint32() == 258
    buf.skip(4)
    assert buf.peek() == b"rest"


def test_consumed_space_is_reused_before_growing():
    buf = Buffer(64)
    buf.append(b"x" * 60)
    buf.skip(50)
    buf.append(b"y" * 40)  # fits after sliding the 10 unread bytes forward
    assert buf.capacity == 64
    assert buf.retrieve_all() == b"x" * 10 + b"y" * 40


def test_growth_keeps_the_data():
    buf = Buffer(8)
    payload = bytes(range(256)) * 100
    for i in range(0, len(payload), 1000):
        buf.append(payload[i:i + 1000])
    assert buf.retrieve_all() == payload


def test_shrink_gives_memory_back_and_keeps_unread_bytes():
    buf = Buffer(1024)
    buf.append(b"z" * 100_000)
    buf.skip(99_990)
    buf.shrink(1024)
    assert buf.capacity == 1024
    assert buf.retrieve_all() == b"z" * 10


def test_recv_into_reads_straight_from_a_socket():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"0123456789")
        buf = Buffer(4)
        n = buf.recv_into(b, min_room=64)
        assert n == 10
        assert buf.retrieve_all() == b"0123456789"
        a.close()
        assert buf.recv_into(b) == 0  # EOF


@given(st.lists(st.tuples(st.binary(max_size=300), st.integers(min_value=0, max_value=400)), max_size=40))
def test_any_sequence_of_appends_and_reads_matches_a_plain_bytes_model(ops):
    buf = Buffer(32)
    model = b""
    for data, take in ops:
        buf.append(data)
        model += data
        take = min(take, len(model))
        assert buf.retrieve(take) == model[:take]
        model = model[take:]
        assert len(buf) == len(model)
    assert buf.retrieve_all() == model
