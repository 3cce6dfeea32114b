"""Objects that belong to one asyncio event loop, made once per loop."""

import asyncio
import functools
import weakref
from collections.abc import Callable


def one_per_event_loop[T](factory: Callable[[], T]) -> Callable[[], T]:
    """Decorate a factory: its result is made once per running event loop, then reused.

    Clients, pools and semaphores work only in the loop they were first used
    in, and a process may run several loops over its life (each test has its
    own). Kept by weak reference: a closed loop's objects go with it.
    """
    made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    @functools.wraps(factory)
    def get() -> T:
        loop = asyncio.get_running_loop()
        if loop not in made:
            made[loop] = factory()
        return made[loop]

    return get
