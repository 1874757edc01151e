"""xorshift64*: the failure draws' generator, the same in the Python and the compiled core.

Both cores draw failures from this stream in the same order, so with the same seed they
produce the same run, event by event (tests compare them).
"""

from __future__ import annotations

import math

MASK = (1 << 64) - 1


class XorShift:
    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        state = (seed * 6364136223846793005 + 1442695040888963407) & MASK
        self.state = state or 88172645463325252

    def random(self) -> float:
        """Uniform on [0, 1) with 53 bits."""
        x = self.state
        x ^= x >> 12
        x ^= (x << 25) & MASK
        x ^= x >> 27
        self.state = x
        return (((x * 2685821657736338717) & MASK) >> 11) * (1.0 / 9007199254740992.0)

    def expovariate(self, rate: float) -> float:
        return -math.log(1.0 - self.random()) / rate
