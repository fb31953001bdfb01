"""Admission control, used from the event loop only (so plain counters are enough): a gate of
requests in a stage, and a byte budget for the uploads held in memory."""

from __future__ import annotations


class Gate:
    """At most ``capacity`` requests in a stage at once."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.inside = capacity, 0

    def enter(self) -> bool:
        if self.inside >= self.capacity:
            return False
        self.inside += 1
        return True

    def leave(self) -> None:
        self.inside -= 1


class Buffers:
    """Bytes of request bodies held at once, all requests together."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.used = capacity, 0

    def reserve(self, n: int) -> bool:
        if self.used + n > self.capacity:
            return False
        self.used += n
        return True

    def release(self, n: int) -> None:
        self.used -= n


class Held:
    """One request's share of :class:`Buffers`, given back whole when it is answered."""

    def __init__(self, buffers: Buffers) -> None:
        self.buffers, self.bytes = buffers, 0

    def reserve(self, n: int) -> bool:
        ok = self.buffers.reserve(n)
        self.bytes += n if ok else 0
        return ok

    def release_all(self) -> None:
        self.buffers.release(self.bytes)
        self.bytes = 0
