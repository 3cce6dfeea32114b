"""Run daphne on uvloop: ``python -m chatapp.serve [daphne's arguments]``.

Relaying hundreds of streams is mostly event-loop work (socket reads and
writes, timers, callbacks), which uvloop does in C. Daphne makes its event
loop when it is imported, so the policy must be set before that import.
Daphne's own command still works, on asyncio's loop, the default
garbage-collector settings, Twisted's queued writes and nothing loaded
ahead.
"""

import asyncio
import gc
import sys

import uvloop


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface  # makes daphne's loop: after the policy

    import chatapp.asgi  # noqa: F401  (loaded now, so that it is frozen below)

    load_ahead()

    # What is loaded by now lives as long as the process: the cyclic collector
    # need not walk it again. Streaming allocates fast; at the default
    # threshold (700) collections came so often that, with 200 streams, they
    # held up new answers by about half a second (benchmarks/relay.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)

    send_writes_at_once()
    interrupt_answers_on_shutdown()

    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


# Docker waits 10 s after SIGTERM before it kills the process.
SHUTDOWN_SAVE_SECONDS = 8.0


def interrupt_answers_on_shutdown() -> None:
    """On SIGTERM, save the answers being written as interrupted before the loop stops.

    Twisted runs "before shutdown" triggers, and waits for the Deferreds they
    return, while the event loop still turns; daphne cancels its consumers
    the same way.
    """
    from twisted.internet import defer, reactor

    from chatapp.chat import generation

    def interrupt() -> defer.Deferred:
        saving = asyncio.ensure_future(generation.interrupt_all(SHUTDOWN_SAVE_SECONDS))
        return defer.Deferred.fromFuture(saving)

    reactor.addSystemEventTrigger("before", "shutdown", interrupt)


def load_ahead() -> None:
    """Load now what the first message sent would otherwise load, every stream waiting.

    Django reads its URL patterns and its locale's formats and compiles a
    template on first use; the gateway client's first request loads the CA
    bundle and has anyio import its asyncio backend (and the socket module
    its idna codec); pygments compiles a lexer's regular expressions on first
    use. In a process that had served only websockets, all of it fell on the
    first send: about 90 ms of this 2-core host with the event loop stopped
    (a GIL profile of the sends in benchmarks/relay.py, and the CA bundle's
    30 ms), besides the lexers' 35 ms for Python on the first answer with code.
    """
    import anyio
    from django.template.loader import get_template
    from django.urls import reverse
    from django.utils import formats

    from chatapp.chat.markdown import prepare_common_lexers
    from chatapp.providers.client import tls_context

    prepare_common_lexers()
    tls_context()  # the CA bundle
    # Socket calls encode a host name with Python's idna codec, loaded on first use.
    "gateway.example".encode("idna")
    reverse("home")
    formats.get_format("DECIMAL_SEPARATOR")  # the locale's formats module, for filters
    get_template("chat/conversation.html")
    get_template("chat/context_estimate.html")

    async def use_anyio() -> None:
        async with anyio.Lock():
            anyio.Event().set()

    # A loop of its own: asyncio.run would leave the thread with no current loop.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(use_anyio())
    finally:
        loop.close()


def send_writes_at_once() -> None:
    """Have Twisted's TCP connections send a write at once when nothing waits before it.

    Twisted queues every write and asks the event loop to report the socket
    writable (add a writer, a turn of the loop, remove the writer) before it
    sends: per websocket frame, for sockets that are nearly always writable.
    With 200 answers streaming that was 5 % of a process's CPU and held every
    frame for a turn of the loop (benchmarks/relay.py). Whatever the socket
    does not take at once, any write with data already queued before it, and
    any failure, go Twisted's way as before. It relies on the buffer
    attributes of Twisted's ``FileDescriptor``; ``tests/production/test_serve.py``
    fails if they change.
    """
    from twisted.internet import tcp

    queued_write = tcp.Connection.write

    def write(self, data: bytes) -> None:
        if (
            data
            and self.connected
            and not self.TLS  # Twisted's startTLS: the bytes go through its TLS layer
            and not self.disconnecting
            and not self._aborting  # Twisted drops what is written after an abort
            and not self._writeDisconnected
            # A pull producer is asked for more only once a queued write is sent.
            and (self.producer is None or self.streamingProducer)
            and not self._tempDataLen
            and self.offset == len(self.dataBuffer)
        ):
            sent = self.writeSomeData(data)
            # A lost connection comes back as an exception object: Twisted's
            # queued path finds it again and closes the connection its way.
            if isinstance(sent, int) and sent > 0:
                data = data[sent:]
                if not data:
                    return
        queued_write(self, data)

    tcp.Connection.write = write


if __name__ == "__main__":
    main()
