"""Run daphne on uvloop: ``python -m chatapp.serve [daphne's arguments]``.

Relaying hundreds of streams is mostly event-loop work (socket reads and
writes, timers, callbacks), which uvloop does in C. Daphne makes its event
loop when it is imported, so the policy must be set before that import.
Daphne's own command still works, on asyncio's loop and the default
garbage-collector settings.
"""

import asyncio
import gc
import sys

import uvloop


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface  # makes daphne's loop: after the policy

    import chatapp.asgi  # noqa: F401  (loaded now, so that it is frozen below)

    # What is loaded by now lives as long as the process: the cyclic collector
    # need not walk it again. Streaming allocates fast; at the default
    # threshold (700) collections came so often that, with 200 streams, they
    # held up new answers by about half a second (benchmarks/relay.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)

    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
