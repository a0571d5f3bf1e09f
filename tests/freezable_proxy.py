"""A TCP proxy for tests whose connections can be frozen: a server that stops answering
but never closes (a half-open connection, a hung process, a dead NAT mapping)."""

from __future__ import annotations

import selectors
import socket
import threading


class _Pair:
    def __init__(self, downstream: socket.socket, upstream: socket.socket) -> None:
        self.sockets = (downstream, upstream)
        self.frozen = False

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


class FreezableProxy:
    """Forwards 127.0.0.1:`port` to `target_port`; `freeze` stops forwarding (and reading: no close
    is seen either) on the connections open now, while new connections are forwarded as before."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="freezable-proxy", daemon=True)

    def __enter__(self) -> FreezableProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopping = True
        self._thread.join(5)
        with self._lock:
            for pair in self._pairs:
                pair.close()
        self._listener.close()
        self._selector.close()

    def freeze(self) -> int:
        """Freeze every connection open now; returns how many."""
        with self._lock:
            for pair in self._pairs:
                pair.frozen = True
                for sock in pair.sockets:
                    if sock.fileno() >= 0:
                        self._unregister(sock)
            return len(self._pairs)

    def _run(self) -> None:
        while not self._stopping:
            for key, _ in self._selector.select(0.05):
                if key.fileobj is self._listener:
                    self._accept()
                else:
                    self._forward(key.fileobj, *key.data)

    def _accept(self) -> None:
        downstream, _ = self._listener.accept()
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        pair = _Pair(downstream, upstream)
        with self._lock:
            self._pairs.append(pair)
            self._selector.register(downstream, selectors.EVENT_READ, (upstream, pair))
            self._selector.register(upstream, selectors.EVENT_READ, (downstream, pair))

    def _forward(self, source: socket.socket, destination: socket.socket, pair: _Pair) -> None:
        with self._lock:
            if pair.frozen:
                return
            try:
                data = source.recv(65536)
                if data:
                    destination.sendall(data)
                    return
            except OSError:
                pass
            for sock in pair.sockets:
                self._unregister(sock)
            pair.close()

    def _unregister(self, sock: socket.socket) -> None:
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass
