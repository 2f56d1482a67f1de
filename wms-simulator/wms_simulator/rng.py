"""Stateless per-row randomness: a row's values are a pure function of (seed, entity, id).

That is what lets the simulator serve row 5,000,000 without generating rows 1..4,999,999.
"""

from __future__ import annotations

import zlib

_MASK = (1 << 64) - 1


def mix(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def salt(seed: int, name: str) -> int:
    """A per-(seed, stream) constant so entities do not share random streams."""
    return mix((seed & _MASK) ^ (zlib.crc32(name.encode()) << 20))


class Bits:
    """Draw small choices out of a row's 64-bit hashes without re-hashing for each field."""

    __slots__ = ("_h", "_k", "_key")

    def __init__(self, key: int) -> None:
        self._key = key
        self._k = 0
        self._h = mix(key)

    def draw(self, n: int) -> int:
        """A value in range(n); refills from the next hash when the current one runs low."""
        h = self._h
        if h < (n << 8):
            self._k += 1
            h = mix(self._key + self._k * 0x632BE59BD9B4E019)
        self._h = h // n
        return h % n

    def chance(self, p: float) -> bool:
        """True with probability p (resolution 1e-6)."""
        return self.draw(1_000_000) < p * 1_000_000
