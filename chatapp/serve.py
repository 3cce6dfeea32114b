"""Run daphne on uvloop: ``python -m chatapp.serve [daphne's arguments]``.

Relaying hundreds of streams is mostly event-loop work (socket reads and
writes, timers, callbacks), which uvloop does in C. Daphne makes its event
loop when it is imported, so the policy must be set before that import;
that is all this module does. Daphne's own command still works, on asyncio's
loop.
"""

import asyncio
import sys

import uvloop


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface  # makes daphne's loop: after the policy

    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
