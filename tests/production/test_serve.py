"""chatapp.serve's write path: Twisted sends at once, and queues only what must wait.

Real sockets and Twisted's own ``tcp.Connection``; the event loop is a
stand-in that records which connections asked to hear when their socket is
writable, so each test can say whether a write waited for it.
"""

import contextlib
import socket

import pytest
from twisted.internet import tcp
from twisted.internet.protocol import Protocol

from chatapp.serve import send_writes_at_once


class EventLoop:
    """Twisted's reactor as a connection sees it: the writers waiting for a writable socket."""

    def __init__(self) -> None:
        self.writers: set = set()

    def addWriter(self, writer) -> None:
        self.writers.add(writer)

    def removeWriter(self, writer) -> None:
        self.writers.discard(writer)

    def removeReader(self, reader) -> None:
        pass

    def callLater(self, delay, function, *args) -> None:
        pass  # an aborted connection's end: not what these tests look at


@pytest.fixture(autouse=True)
def writes_at_once(monkeypatch):
    monkeypatch.setattr(tcp.Connection, "write", tcp.Connection.write)  # undone after the test
    send_writes_at_once()


@pytest.fixture
def loop() -> EventLoop:
    return EventLoop()


@pytest.fixture
def sockets():
    """The server's end of a TCP connection on 127.0.0.1, and the browser's."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        browser = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    browser.settimeout(5)
    yield server, browser
    server.close()
    browser.close()


@pytest.fixture
def connection(sockets, loop) -> tcp.Connection:
    server, _ = sockets
    connection = tcp.Connection(server, Protocol(), loop)
    connection.connected = True  # as tcp.Server sets it once accepted
    return connection


def read_exactly(browser: socket.socket, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        piece = browser.recv(size - len(received))
        if not piece:
            break
        received += piece
    return bytes(received)


def test_a_frame_is_sent_without_waiting_for_the_event_loop(connection, sockets, loop):
    _, browser = sockets
    connection.write(b"a websocket frame")
    assert read_exactly(browser, 17) == b"a websocket frame"
    assert loop.writers == set()


def test_what_the_socket_cannot_take_is_queued_and_arrives_in_order(connection, sockets, loop):
    _, browser = sockets
    large = bytes(range(256)) * 131_072  # 32 MiB: more than the socket takes at once
    connection.write(large)
    connection.write(b"the next frame")  # queued behind the rest, never ahead of it
    assert loop.writers == {connection}

    received = bytearray()
    browser.setblocking(False)
    while connection in loop.writers:
        with contextlib.suppress(BlockingIOError):
            received += browser.recv(1 << 20)
        connection.doWrite()  # what the loop calls once the socket is writable
    browser.setblocking(True)
    received += read_exactly(browser, len(large) + 14 - len(received))
    assert bytes(received) == large + b"the next frame"


def test_a_write_to_a_closed_connection_goes_twisteds_way_to_be_reported(connection, sockets, loop):
    _, browser = sockets
    browser.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")  # reset on close
    browser.close()
    connection.write(b"to nobody")  # no exception here: the loop's turn reports the loss
    assert loop.writers == {connection}
    assert isinstance(connection.doWrite(), Exception)


def test_nothing_written_after_an_abort_reaches_the_browser(connection, sockets):
    _, browser = sockets
    connection.abortConnection()
    connection.write(b"too late")
    browser.setblocking(False)
    with pytest.raises(BlockingIOError):
        browser.recv(100)


def test_a_pull_producer_is_asked_for_more_once_a_write_is_sent(connection, sockets, loop):
    """Twisted resumes a pull producer from its queued write path, so writes go that way."""
    _, browser = sockets

    class Producer:
        asked = 0

        def resumeProducing(self) -> None:
            self.asked += 1

        def stopProducing(self) -> None:
            pass

    producer = Producer()
    connection.registerProducer(producer, streaming=False)
    asked_on_registering = producer.asked
    connection.write(b"a piece")
    assert loop.writers == {connection}
    connection.doWrite()
    assert read_exactly(browser, 7) == b"a piece"
    assert producer.asked == asked_on_registering + 1
