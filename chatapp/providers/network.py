"""Sockets for the gateway client on asyncio itself, without anyio in between.

httpcore reaches the network through a "network backend"; its default for
asyncio is anyio's. For every read of a streamed answer (one per chunk a
gateway sends) that backend enters two context managers, sets up and tears
down a cancel scope with its own timer, switches the transport's reading on
and off (two system calls) and waits on an event. This backend keeps reading
on, buffers what arrives and returns it at once when some is there; its read
timeout is one timer per connection, set again only when it fires.
``benchmarks/stack_floor.py`` measured a streamed chunk's trip through httpx
at 0.066 CPU ms with anyio's backend and 0.047 ms with this one.

Connecting tries a host's addresses as anyio did (Happy Eyeballs, RFC 8305),
so a broken address family costs a quarter of a second. Requests through a
proxy (``HTTPS_PROXY``...) keep httpx's own backend.

The errors raised are httpcore's (``ReadTimeout``, ``ConnectError``...),
which httpx turns into its own; a failed connection carries the operating
system's or TLS error as its cause, which the client reads to tell people
what went wrong.
"""

import asyncio
import errno
import os
import socket
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any

import httpcore

# Above this much unread data the transport stops reading until the client
# catches up: a gateway cannot fill the process's memory.
READ_HIGH_WATER = 256 * 1024
# uvloop's clock and timers count whole milliseconds: a timer may fire up to one
# early, and setting it again for the rest would spin until the clock moves on.
TIMER_SLACK = 0.001


class _Signal:
    """Something one waiter at a time waits for: data to read, or room to write."""

    def __init__(self) -> None:
        self._waiter: asyncio.Future | None = None
        # When the current wait times out (None: never), the timer that checks,
        # and when that timer is due.
        self._expires: float | None = None
        self._timer: asyncio.Handle | None = None
        self._timer_due = 0.0

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        """Until ``wake``; TimeoutError after ``timeout`` seconds.

        A stream waits once per chunk, and a timer set and cancelled per wait
        was a measurable share of relaying. So one timer stays set: when it
        fires it checks the wait in progress, and sets itself again for that
        wait's own expiry if it has time left.
        """
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        if timeout is None:
            self._expires = None
        else:
            self._expires = expires = loop.time() + timeout
            if self._timer is not None and self._timer_due > expires:
                self._timer.cancel()
                self._timer = None
            if self._timer is None:
                self._set_timer(loop, expires)
        try:
            await waiter
        finally:
            self._waiter = None

    def _check_expiry(self) -> None:
        self._timer = None
        waiter, expires = self._waiter, self._expires
        if waiter is None or waiter.done() or expires is None:
            return  # the next wait with a timeout sets the timer again
        loop = waiter.get_loop()
        if loop.time() >= expires - TIMER_SLACK:
            waiter.set_exception(TimeoutError())
        else:
            self._set_timer(loop, expires)

    def _set_timer(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self._timer = loop.call_at(due, self._check_expiry)
        self._timer_due = due

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class _Connection(asyncio.Protocol):
    """What asyncio tells us about one connection: data, its end, write pressure."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received: deque[bytes] = deque()
        self.buffered = 0
        self.ended = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.writing_paused = False
        self.readable = _Signal()
        self.drained = _Signal()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received.append(data)
        self.buffered += len(data)
        if self.buffered > READ_HIGH_WATER and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()
        self.readable.wake()

    def eof_received(self) -> bool:
        self.ended = True
        self.readable.wake()
        return False  # the transport closes itself

    def connection_lost(self, error: Exception | None) -> None:
        self.ended = True
        self.error = error
        self.readable.wake()
        self.drained.wake()
        self.readable.close()
        self.drained.close()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self.drained.wake()


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, connection: _Connection) -> None:
        self._transport = transport
        self._connection = connection

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        if not connection.received:
            if connection.ended:
                return self._end_of_stream()
            try:
                await connection.readable.wait(timeout)
            except TimeoutError as error:
                raise httpcore.ReadTimeout("no data within the read timeout") from error
            if not connection.received:
                return self._end_of_stream()
        data = connection.received.popleft()
        while connection.received and len(data) + len(connection.received[0]) <= max_bytes:
            data += connection.received.popleft()
        if len(data) > max_bytes:
            data, rest = data[:max_bytes], data[max_bytes:]
            connection.received.appendleft(rest)
        connection.buffered -= len(data)
        if connection.reading_paused and connection.buffered <= READ_HIGH_WATER // 2:
            connection.reading_paused = False
            self._transport.resume_reading()
        return data

    def _end_of_stream(self) -> bytes:
        if self._connection.error is not None:
            raise httpcore.ReadError(str(self._connection.error)) from self._connection.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        connection = self._connection
        if connection.ended:
            raise httpcore.WriteError("the connection is closed") from connection.error
        self._transport.write(buffer)
        if not connection.writing_paused:
            return
        try:
            await connection.drained.wait(timeout)
        except TimeoutError as error:
            raise httpcore.WriteTimeout("could not send within the write timeout") from error
        if connection.ended and connection.writing_paused:
            raise httpcore.WriteError("the connection closed while sending") from connection.error

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> "AsyncioStream":
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._connection, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as error:
            self._transport.abort()
            raise httpcore.ConnectTimeout("the TLS handshake took too long") from error
        except (OSError, ssl.SSLError, ConnectionError) as error:
            self._transport.abort()
            raise httpcore.ConnectError(str(error)) from error
        self._connection.transport = transport
        return AsyncioStream(transport, self._connection)

    def get_extra_info(self, info: str) -> Any:
        match info:
            case "ssl_object":
                return self._transport.get_extra_info("ssl_object")
            case "client_addr":
                return self._transport.get_extra_info("sockname")
            case "server_addr":
                return self._transport.get_extra_info("peername")
            case "socket":
                return self._transport.get_extra_info("socket")
            case "is_readable":
                # An idle kept-alive connection with something to read (or its
                # end) has been closed or broken by the server: not reusable.
                return bool(self._connection.received) or self._connection.ended
        return None


# How long one address may try before the next is tried beside it (RFC 8305's
# connection attempt delay): a family whose packets vanish (broken IPv6 is the
# usual one) costs this long, not the whole connect timeout.
NEXT_ADDRESS_AFTER = 0.25


async def resolve(host: str, port: int) -> list[tuple]:
    """``getaddrinfo`` for a stream socket, on the event loop's resolver."""
    return await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _alternating_families(addresses: list[tuple]) -> list[tuple]:
    """The resolver's order, families taking turns (IPv6, IPv4, IPv6...), as RFC 8305 asks."""
    by_family: dict[int, list[tuple]] = {}
    for address in addresses:
        by_family.setdefault(address[0], []).append(address)
    queues = list(by_family.values())
    longest = max(map(len, queues), default=0)
    return [queue[turn] for turn in range(longest) for queue in queues if turn < len(queue)]


async def _connected_socket(address: tuple, local_address: str | None) -> socket.socket:
    family, kind, protocol, _, socket_address = address
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setblocking(False)
        if local_address:
            sock.bind((local_address, 0))
        await _connect(sock, socket_address)
    except BaseException:
        sock.close()
        raise
    return sock


async def _connect(sock: socket.socket, address: tuple) -> None:
    """Connect a non-blocking socket to a resolved address.

    Not ``loop.sock_connect``: uvloop's passes even a numeric address to the
    resolver first, in a worker thread, which made a connection cost 0.2 ms
    of CPU instead of 0.06.
    """
    error = sock.connect_ex(address)
    # EAGAIN is no "in progress" for TCP (Linux: no local port left): a failure.
    if error in (errno.EINPROGRESS, errno.EINTR):
        loop = asyncio.get_running_loop()
        writable = loop.create_future()
        fileno = sock.fileno()
        loop.add_writer(fileno, _resolve_once, writable)
        try:
            await writable
        finally:
            loop.remove_writer(fileno)
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error:
        raise OSError(error, f"Connect call failed {address}: {os.strerror(error)}")


def _resolve_once(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


async def _first_connection(host: str, port: int, local_address: str | None) -> socket.socket:
    """A socket connected to one of ``host``'s addresses (Happy Eyeballs).

    Each address in turn; the next one starts beside the others as soon as
    one fails or after NEXT_ADDRESS_AFTER. The first to connect wins; the
    rest are dropped.
    """
    resolved = _alternating_families(await resolve(host, port))
    if len(resolved) == 1:  # nothing to race: no task, no timer
        return await _connected_socket(resolved[0], local_address)
    addresses = iter(resolved)
    trying: set[asyncio.Task] = set()
    failures: list[BaseException] = []
    try:
        while True:
            address = next(addresses, None)
            if address is not None:
                trying.add(asyncio.ensure_future(_connected_socket(address, local_address)))
            elif not trying:
                raise failures[0] if failures else OSError(f"{host} has no address")
            done, trying = await asyncio.wait(
                trying,
                timeout=NEXT_ADDRESS_AFTER if address is not None else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
            connected = [task.result() for task in done if task.exception() is None]
            failures += [task.exception() for task in done if task.exception() is not None]
            if connected:
                for extra in connected[1:]:
                    extra.close()
                return connected[0]
    finally:
        for task in trying:
            task.cancel()
        for result in await asyncio.gather(*trying, return_exceptions=True):
            if isinstance(result, socket.socket):
                result.close()


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple] | None = None,
    ) -> AsyncioStream:
        loop = asyncio.get_running_loop()

        async def connect():
            sock = await _first_connection(host, port, local_address)
            try:
                return await loop.create_connection(_Connection, sock=sock)
            except BaseException:
                sock.close()
                raise

        return await self._connect(connect, timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[tuple] | None = None,
    ) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        return await self._connect(
            lambda: loop.create_unix_connection(_Connection, path), timeout, socket_options
        )

    @staticmethod
    async def _connect(open_connection, timeout, socket_options) -> AsyncioStream:
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await open_connection()
        except TimeoutError as error:
            raise httpcore.ConnectTimeout("could not connect within the connect timeout") from error
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from error
        raw_socket: socket.socket = transport.get_extra_info("socket")
        for option in socket_options or ():
            raw_socket.setsockopt(*option)
        return AsyncioStream(transport, connection)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
