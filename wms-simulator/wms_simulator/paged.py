"""Paged mode's page boundaries, including the quirks real tenants show.

Plain paging puts page `p` at offset `(p - 1) * page_size`. Two switches play what a public connector
recorded from live tenants ("What real tenants do" in the API notes):
- `short_page_every=n`: every n-th page holds half a page of rows although more rows follow, so only an
  empty page (or `next_page: null`) means the end. The pages still cover every row once: the boundaries
  move, nothing is dropped.
- `stale_page_count=k`: the first pages of a walk report `page_count` k pages too high (a stale cache),
  the later pages the true count; pages past the true last page up to the stale count are phantoms
  that answer 500 (past them, 404 as usual).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PagedQuirks:
    """The paged-mode switches of one simulator (all off by default)."""

    short_page_every: int = 0
    stale_page_count: int = 0
    stale_pages: int = 0

    def __post_init__(self) -> None:
        if self.short_page_every < 0 or self.short_page_every == 1:
            raise ValueError(f"short_page_every must be 0 (off) or at least 2, got {self.short_page_every!r}")
        if self.stale_page_count < 0:
            raise ValueError(f"stale_page_count must be >= 0 (0 = off), got {self.stale_page_count!r}")
        if self.stale_pages < 0:
            raise ValueError(f"stale_pages must be >= 0 (0 = the first half), got {self.stale_pages!r}")

    def layout(self, total: int, size: int) -> PageLayout:
        return PageLayout(total, size, self)


@dataclass(frozen=True)
class PageLayout:
    """Where each page of one paged walk (`total` rows, `page_size` `size`) starts, and what it reports."""

    total: int
    size: int
    quirks: PagedQuirks

    @property
    def _short(self) -> int:
        return max(1, self.size // 2)

    def span(self, page: int) -> tuple[int, int]:
        """(offset, rows) of page `page` (1-based)."""
        n = self.quirks.short_page_every
        if not n:
            return (page - 1) * self.size, self.size
        cycles, index = divmod(page - 1, n)
        cycle_rows = (n - 1) * self.size + self._short
        return cycles * cycle_rows + index * self.size, self._short if index == n - 1 else self.size

    @property
    def page_count(self) -> int:
        """Pages that hold rows (at least 1: an empty unfiltered result is one empty page)."""
        n = self.quirks.short_page_every
        if not n:
            return max(1, -(-self.total // self.size))
        cycle_rows = (n - 1) * self.size + self._short
        cycles, rest = divmod(self.total, cycle_rows)
        tail = -(-rest // self.size) if rest <= (n - 1) * self.size else n
        return max(1, cycles * n + tail)

    def reported_page_count(self, page: int) -> int:
        """The `page_count` page `page` reports: stale (too high) on the first pages of the walk."""
        true = self.page_count
        k = self.quirks.stale_page_count
        if not k:
            return true
        stale_through = self.quirks.stale_pages or max(1, true // 2)
        return true + k if page <= stale_through else true

    def is_phantom(self, page: int) -> bool:
        """A page past the true last one that a stale count announced: the tenant answers 500."""
        true = self.page_count
        return true < page <= true + self.quirks.stale_page_count
