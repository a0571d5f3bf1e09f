"""A muduo-style network library: one event loop per thread, on selectors.

Knows nothing of meetings; nothing here imports the rest of the project.
"""

from reactor.buffer import Buffer
from reactor.channel import Channel
from reactor.connector import Connector
from reactor.event_loop import EventLoop, WrongThreadError
from reactor.event_loop_thread import EventLoopThread
from reactor.event_loop_thread_pool import EventLoopThreadPool
from reactor.length_frame_codec import LengthFrameCodec
from reactor.tcp_client import TcpClient
from reactor.tcp_connection import State, TcpConnection
from reactor.tcp_server import TcpServer
from reactor.timer import Timer

__all__ = [
    "Buffer", "Channel", "Connector", "EventLoop", "EventLoopThread", "EventLoopThreadPool",
    "LengthFrameCodec", "State", "TcpClient", "TcpConnection", "TcpServer", "Timer",
    "WrongThreadError",
]
