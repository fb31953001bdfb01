"""Admission control, used from the event loop only (so plain counters are enough): budgets of
requests in a stage (one unit each) and of upload bytes held in memory."""

from __future__ import annotations


class Budget:
    """At most ``capacity`` units taken at once: requests in a stage, or bytes of request bodies."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.used = capacity, 0

    def take(self, n: int = 1) -> bool:
        if self.used + n > self.capacity:
            return False
        self.used += n
        return True

    def give(self, n: int = 1) -> None:
        self.used -= n


class Gate(Budget):
    """The requests being scored: ``on_busy()`` when the first is admitted, ``on_idle()`` when the
    last is answered (the server holds background refits while any request runs: learn.refit)."""

    def __init__(self, capacity: int, on_busy=None, on_idle=None) -> None:
        super().__init__(capacity)
        self.on_busy, self.on_idle = on_busy, on_idle

    def take(self, n: int = 1) -> bool:
        was = self.used
        taken = super().take(n)
        if taken and was == 0 and self.on_busy is not None:
            self.on_busy()
        return taken

    def give(self, n: int = 1) -> None:
        super().give(n)
        if self.used == 0 and self.on_idle is not None:
            self.on_idle()


class Held:
    """One request's share of a byte :class:`Budget`, given back whole when it is answered."""

    def __init__(self, buffers: Budget) -> None:
        self.buffers, self.bytes = buffers, 0

    def reserve(self, n: int) -> bool:
        ok = self.buffers.take(n)
        self.bytes += n if ok else 0
        return ok

    def release_all(self) -> None:
        self.buffers.give(self.bytes)
        self.bytes = 0
