"""The in-memory channel layer, made to scale with open sockets."""

import time

from channels.layers import InMemoryChannelLayer


class SweepingInMemoryChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer, with its expiry sweep at most once a second.

    The stock layer scans every channel and group on every send and receive,
    so relaying N streams cost in proportion to N squared. Expiry is measured
    in tens of seconds, so sweeping once a second loses nothing.
    """

    sweep_interval = 1.0
    _last_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < self.sweep_interval:
            return
        self._last_sweep = now
        super()._clean_expired()
