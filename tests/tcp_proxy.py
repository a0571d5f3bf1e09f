"""A TCP proxy for tests (between a client and the server, or the server and its database) whose
link can be cut, stalled, or frozen for the connections open now only."""

from __future__ import annotations

import selectors
import socket
import threading

PASS, CUT, STALL = "pass", "cut", "stall"


class _Pair:
    def __init__(self, downstream: socket.socket) -> None:
        self.downstream = downstream
        self.upstream: socket.socket | None = None  # None: accepted while stalled, not yet connected
        self.frozen = False  # held for good: neither bytes nor a close go through

    def sockets(self) -> list[socket.socket]:
        return [sock for sock in (self.downstream, self.upstream) if sock is not None]

    def close(self) -> None:
        for sock in self.sockets():
            sock.close()


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port` in one of three modes.

    pass: bytes flow both ways. cut: every connection is closed, and new ones are closed as soon as
    they are accepted (a database that died). stall: connections are accepted and kept open but
    nothing is forwarded, not even a close (a hung database, a dead network path). Going from stall
    back to pass forwards what was held meanwhile, as a network that comes back delivers late.
    `freeze` holds only the connections open now, for good (a half-open connection, a hung
    peer), while new ones are forwarded as the mode says.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._pairs: list[_Pair] = []
        self._mode = PASS
        self._wanted = PASS
        self._freeze_wanted = False
        self.frozen_count = 0
        self._lock = threading.Lock()
        self._applied = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopping = True
        self._thread.join(5)
        for pair in self._pairs:
            pair.close()
        self._listener.close()
        self._selector.close()

    def set_mode(self, mode: str) -> None:
        """Switch to pass, cut or stall; returns once the proxy's thread has done it."""
        assert mode in (PASS, CUT, STALL), mode
        with self._lock:
            self._wanted = mode
            self._applied.clear()
        assert self._applied.wait(5), "the proxy did not switch"

    def freeze(self) -> int:
        """Hold every connection open now for good; returns how many."""
        with self._lock:
            self._freeze_wanted = True
            self._applied.clear()
        assert self._applied.wait(5), "the proxy did not freeze"
        return self.frozen_count

    # -- the proxy's thread ---------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            self._apply_mode()
            for key, _ in self._selector.select(0.02):
                if key.fileobj is self._listener:
                    self._accept()
                else:
                    self._forward(key.fileobj, *key.data)

    def _apply_mode(self) -> None:
        with self._lock:
            wanted = self._wanted
            freeze, self._freeze_wanted = self._freeze_wanted, False
        if freeze:
            for pair in self._pairs:
                pair.frozen = True
                for sock in pair.sockets():
                    self._unregister(sock)
            self.frozen_count = len(self._pairs)
        if wanted != self._mode:
            if wanted == CUT:
                for pair in list(self._pairs):
                    self._drop(pair)
            elif wanted == STALL:
                for pair in self._pairs:
                    for sock in pair.sockets():
                        self._unregister(sock)
            else:
                for pair in [pair for pair in self._pairs if not pair.frozen]:
                    self._start_forwarding(pair)
            self._mode = wanted
        self._applied.set()

    def _accept(self) -> None:
        downstream, _ = self._listener.accept()
        if self._mode == CUT:
            downstream.close()
            return
        pair = _Pair(downstream)
        self._pairs.append(pair)
        if self._mode == PASS:
            self._start_forwarding(pair)

    def _start_forwarding(self, pair: _Pair) -> None:
        if pair.upstream is None:
            try:
                pair.upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                self._drop(pair)
                return
        self._selector.register(pair.downstream, selectors.EVENT_READ, (pair.upstream, pair))
        self._selector.register(pair.upstream, selectors.EVENT_READ, (pair.downstream, pair))

    def _forward(self, source: socket.socket, destination: socket.socket, pair: _Pair) -> None:
        try:
            data = source.recv(65536)
            if data:
                destination.sendall(data)
                return
        except OSError:
            pass
        self._drop(pair)

    def _drop(self, pair: _Pair) -> None:
        for sock in pair.sockets():
            self._unregister(sock)
        pair.close()
        if pair in self._pairs:
            self._pairs.remove(pair)

    def _unregister(self, sock: socket.socket) -> None:
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass
