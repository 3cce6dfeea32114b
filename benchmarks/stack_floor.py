"""The fixed stack's own cost per relayed chunk, with none of chatapp's code.

Not a test: it measures and prints. It answers "how fast could any app on
httpx + httpx-sse + daphne relay on this machine?", the floor under
``relay.py``'s figures. Each half of a chunk's trip is measured alone:

- upstream: one process (uvloop, one shared ``httpx.AsyncClient``) reads N
  simulator streams with httpx-sse and decodes each chunk's JSON, as the
  provider client does (the simulator closes each connection, so no
  connection is reused: the same as for the app in relay.py); once with
  httpx as shipped (anyio underneath), once on chatapp's own network layer
  (``chatapp.providers.network``), as the app's client runs;
- downstream: daphne on uvloop (as ``chatapp.serve`` runs it) serving a bare
  ASGI app that sends one websocket frame per chunk, paced like the
  simulator, to N clients in another process.

It prints the CPU seconds per 1,000 chunks of each half, their sum, and the
chunks a second one fully busy core could relay at that cost.

    .venv/bin/python benchmarks/stack_floor.py              # N = 200
    .venv/bin/python benchmarks/stack_floor.py --streams 50
"""

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from relay import cpu_seconds, free_port, machine_ticks

ROOT = Path(__file__).resolve().parents[1]
# An answer delta as the app sends it (relay.py's frames average about this).
FRAME = '<div hx-swap-oob="beforeend:#message-1-answer">' + "x" * 48 + "</div>"


def wait_until_listening(port: int, process, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() if hasattr(process, "poll") else not process.is_alive():
            sys.exit(f"{name} exited before it listened on port {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{name} did not listen on port {port} within {timeout:.0f} s")


def result_of(queue, worker, name: str, timeout: float = 600):
    """What a worker process put on its queue; exits with a message if it died or hung."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return queue.get(timeout=1)
        except Exception:  # queue.Empty: still working, unless it died
            if not worker.is_alive():
                sys.exit(f"{name} died (exit code {worker.exitcode}); see its output above")
    sys.exit(f"{name} gave no result within {timeout:.0f} s")


# ---------------------------------------------------------------- upstream


def _serve_simulator(port: int, chunk_delay: float, stop) -> None:
    sys.path.insert(0, str(ROOT))
    from chatapp.providers.simulator import SimulatorServer

    async def serve() -> None:
        server = SimulatorServer(port=port, chunk_delay=chunk_delay)
        await server.start()
        await asyncio.to_thread(stop.wait)
        await server.stop()

    asyncio.run(serve())


def _read_streams(base_url: str, streams: int, own_backend: bool, results) -> None:
    """N streams read with httpx + httpx-sse; CPU seconds of this process and the chunk count.

    ``own_backend``: through the app's own client (chatapp's network layer), not plain httpx.
    """
    import httpx
    import uvloop
    from httpx_sse import EventSource

    async def one(client: httpx.AsyncClient, number: int) -> int:
        body = {
            "model": "o4-mini",
            "messages": [{"role": "user", "content": f"Floor {number}"}],
            "reasoning_effort": "medium",
            "stream": True,
        }
        chunks = 0
        async with client.stream("POST", f"{base_url}/chat/completions", json=body) as response:
            async for sse in EventSource(response).aiter_sse():
                if sse.data == "[DONE]":
                    break
                json.loads(sse.data)
                chunks += 1
        return chunks

    async def main() -> tuple[float, int]:
        if own_backend:
            sys.path.insert(0, str(ROOT))
            from chatapp.providers.client import _client

            client = _client()  # the app's own client, on chatapp's network layer
        else:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=20)
            client = httpx.AsyncClient(limits=limits, timeout=60)
        async with client:
            await one(client, -1)  # warm up: imports and the client's first request
            started = time.process_time()
            counts = await asyncio.gather(*(one(client, n) for n in range(streams)))
            return time.process_time() - started, sum(counts)

    results.put(uvloop.run(main()))


def upstream(streams: int, chunk_delay: float, own_backend: bool) -> tuple[float, int]:
    context = multiprocessing.get_context("spawn")
    port = free_port()
    stop = context.Event()
    simulator = context.Process(target=_serve_simulator, args=(port, chunk_delay, stop))
    simulator.start()
    wait_until_listening(port, simulator, "the simulator")
    results = context.Queue()
    reader = context.Process(
        target=_read_streams,
        args=(f"http://127.0.0.1:{port}/v1", streams, own_backend, results),
    )
    reader.start()
    cpu, chunks = result_of(results, reader, "the stream reader")
    reader.join()
    stop.set()
    simulator.join(10)
    return cpu, chunks


# ---------------------------------------------------------------- downstream


async def application(scope, receive, send):
    """A bare ASGI websocket app: on "go <chunks> <delay>", that many frames, paced."""
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    message = await receive()
    _, chunks, delay = message["text"].split()
    for _ in range(int(chunks)):
        await send({"type": "websocket.send", "text": FRAME})
        await asyncio.sleep(float(delay))
    await send({"type": "websocket.close"})


APP = "stack_floor:application"
SERVE_BARE_APP = """
import asyncio, gc, sys
import uvloop
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
from daphne.cli import CommandLineInterface
gc.collect(); gc.freeze(); gc.set_threshold(20_000, 20, 20)
sys.argv[0] = "daphne"
CommandLineInterface.entrypoint()
"""


def _drive_sockets(port: int, streams: int, chunks: int, delay: float, results) -> None:
    """N websocket clients: connect (8 at a time), then all say go; frames received in all."""
    from websockets.asyncio.client import connect

    async def main() -> int:
        handshakes = asyncio.Semaphore(8)
        go = asyncio.Event()
        connected = 0

        async def one() -> int:
            nonlocal connected
            async with handshakes:
                socket = await connect(
                    f"ws://127.0.0.1:{port}/",
                    compression=None,
                    open_timeout=120,
                    ping_interval=None,
                    max_queue=None,
                )
            connected += 1
            async with socket:
                await go.wait()
                await socket.send(f"go {chunks} {delay}")
                return sum([1 async for _ in socket])

        tasks = [asyncio.create_task(one()) for _ in range(streams)]
        while connected < streams:
            await asyncio.sleep(0.05)
        results.put("connected")
        await asyncio.sleep(0.5)
        go.set()
        return sum(await asyncio.gather(*tasks))

    results.put(asyncio.run(main()))


def downstream(streams: int, chunks: int, delay: float) -> tuple[float, int]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE_BARE_APP, "-b", "127.0.0.1", "-p", str(port), APP],
        cwd=Path(__file__).parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, server, "daphne")
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        driver = context.Process(
            target=_drive_sockets, args=(port, streams, chunks, delay, results)
        )
        driver.start()
        result_of(results, driver, "the websocket clients")  # all connected
        before = cpu_seconds(server.pid)
        received = result_of(results, driver, "the websocket clients")
        cpu = cpu_seconds(server.pid) - before
        driver.join()
        return cpu, received
    finally:
        server.terminate()
        server.wait(10)


# ---------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--chunk-delay", type=float, default=0.03)
    args = parser.parse_args()
    gc.disable()  # this process only waits
    stolen_before, ticks_before = machine_ticks()
    up_cpu, up_chunks = upstream(args.streams, args.chunk_delay, own_backend=False)
    own_cpu, own_chunks = upstream(args.streams, args.chunk_delay, own_backend=True)
    per_stream = round(up_chunks / args.streams)
    down_cpu, down_frames = downstream(args.streams, per_stream, args.chunk_delay)
    up = up_cpu / up_chunks * 1000
    own = own_cpu / own_chunks * 1000
    down = down_cpu / down_frames * 1000
    stolen_after, ticks_after = machine_ticks()
    steal = (stolen_after - stolen_before) / max(ticks_after - ticks_before, 1)
    print(
        f"{args.streams} streams of {per_stream} chunks at {1 / args.chunk_delay:.0f} chunks/s, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
        f"{steal:.0%} of the machine's CPU time stolen by the hypervisor"
    )
    print(f"  upstream   httpx + httpx-sse + json:  {up:.3f} CPU s / 1k chunks ({up_chunks})")
    print(f"             the same on chatapp's network layer: {own:.3f} ({own_chunks})")
    print(f"  downstream daphne websocket frames:   {down:.3f} CPU s / 1k frames ({down_frames})")
    for name, upstream_cost in (("httpx as shipped", up), ("chatapp's network layer", own)):
        total = upstream_cost + down
        print(
            f"  together, {name}: {total:.3f} CPU s / 1k chunks: one busy core relays at most "
            f"{1000 / total:,.0f} chunks/s"
        )
    peak = args.streams / args.chunk_delay
    print(f"  {args.streams} streams at full rate need {peak:,.0f} chunks/s")


if __name__ == "__main__":
    main()
