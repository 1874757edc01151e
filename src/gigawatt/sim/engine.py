"""A tiny discrete-event core: a heap of (time, seq, callback, arg). It knows nothing of GPUs.

Events are plain tuples and callbacks are called with one argument, which keeps the
loop to a heap pop and a call per event. Ties in time run in scheduling order (seq),
so a run is reproducible to the event for a given seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

Callback = Callable[[Any], None]


class Engine:
    __slots__ = ("now", "rng", "seed", "processed", "_queue", "_seq", "_log")

    def __init__(self, seed: int = 0, record: bool = False) -> None:
        self.now = 0.0
        self.seed = seed
        self.rng = random.Random(seed)
        self.processed = 0
        self._queue: list[tuple[float, int, Callback, Any]] = []
        self._seq = 0
        self._log: list[tuple[float, str]] | None = [] if record else None

    def at(self, time: float, callback: Callback, arg: Any = None) -> None:
        """Run `callback(arg)` at absolute `time` (never before now)."""
        if time < self.now:
            time = self.now
        self._seq += 1
        heappush(self._queue, (time, self._seq, callback, arg))

    def after(self, delay: float, callback: Callback, arg: Any = None) -> None:
        self.at(self.now + delay, callback, arg)

    def peek(self) -> float:
        return self._queue[0][0] if self._queue else math.inf

    def step(self) -> bool:
        """Process one event; False when nothing is left."""
        if not self._queue:
            return False
        time, _, callback, arg = heappop(self._queue)
        self.now = time
        self.processed += 1
        if self._log is not None:
            self._log.append((time, getattr(callback, "__name__", repr(callback))))
        callback(arg)
        return True

    def run(self, until: float = math.inf) -> None:
        """Process events up to and including time `until`; the clock ends at `until` if finite."""
        queue = self._queue
        if self._log is not None:
            while queue and queue[0][0] <= until:
                self.step()
        else:
            pop = heappop
            n = 0
            while queue and queue[0][0] <= until:
                time, _, callback, arg = pop(queue)
                self.now = time
                n += 1
                callback(arg)
            self.processed += n
        if until != math.inf and until > self.now:
            self.now = until

    @property
    def log(self) -> list[tuple[float, str]]:
        """(time, callback name) of every event, when created with record=True."""
        return list(self._log or [])
