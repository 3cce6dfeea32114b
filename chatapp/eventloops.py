"""Objects that belong to one asyncio event loop, made once per loop."""

import asyncio
import functools
from collections.abc import Callable


def one_per_event_loop[T](factory: Callable[[], T]) -> Callable[[], T]:
    """Decorate a factory: its result is made once per running event loop, then reused.

    Clients, pools and semaphores work only in the loop they were first used
    in, and a process may run several loops over its life (each test has its
    own). A loop's objects are let go once it has closed: they cannot be
    weakly keyed by it, because they hold it (a client's sockets do).
    """
    made: dict[asyncio.AbstractEventLoop, T] = {}

    @functools.wraps(factory)
    def get() -> T:
        loop = asyncio.get_running_loop()
        if loop not in made:
            for ended in [other for other in made if other.is_closed()]:
                del made[ended]
            made[loop] = factory()
        return made[loop]

    return get
