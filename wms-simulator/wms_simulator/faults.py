"""Fault injection that tests control: chosen requests fail the way gateways in front of SaaS fail."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

STATUS_KINDS = {401, 403, 404, 429, 500, 502, 503, 504}
OTHER_KINDS = {"reset", "truncate", "incomplete", "slow", "html"}


@dataclass
class Fault:
    """One rule. `kind` is an HTTP status (int) or "reset" / "truncate" / "incomplete" / "slow" / "html"."""

    kind: int | str
    retry_after: float | None = None
    times: int | None = 1
    path_contains: str | None = None
    after_requests: int = 0
    delay: float | None = None
    page_size_above: int | None = None
    seen: int = 0
    fired: int = 0

    def wait(self) -> float:
        """Seconds to wait before answering: `delay`, or 1 s for "slow" when no delay was given."""
        if self.delay is not None:
            return self.delay
        return 1.0 if self.kind == "slow" else 0.0


@dataclass
class _Rate:
    rate: float
    kinds: tuple
    retry_after: float | None
    path_contains: str | None
    delay: float | None
    rng: random.Random


class Faults:
    """The fault plan of one simulator (`sim.faults`)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rules: list[Fault] = []
        self._rates: list[_Rate] = []
        self._lock = threading.Lock()

    def add(
        self,
        status: int | str | None = None,
        *,
        kind: int | str | None = None,
        retry_after: float | None = None,
        times: int | None = 1,
        path_contains: str | None = None,
        after_requests: int = 0,
        delay: float | None = None,
        page_size_above: int | None = None,
    ) -> Fault:
        """Fail `times` matching requests (None = every one) after letting `after_requests` through.

        A request matches when `path_contains` (default: any) occurs in its path with query string and,
        with `page_size_above`, when it asks a data page of more rows than that (a gateway timing out on
        large pages). `delay` seconds pass before the answer ("slow": 1 s unless given).
        """
        chosen = _check_kind(kind if kind is not None else status)
        if delay is not None and delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
        if page_size_above is not None and page_size_above < 0:
            raise ValueError(f"page_size_above must be >= 0, got {page_size_above!r}")
        fault = Fault(chosen, retry_after, times, path_contains, after_requests, delay, page_size_above)
        with self._lock:
            self._rules.append(fault)
        return fault

    def rate(
        self,
        rate: float,
        kinds: tuple = (429, 500, 502, 503, 504),
        *,
        retry_after: float | None = None,
        path_contains: str | None = None,
        delay: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Fail a fraction `rate` of matching requests with a kind drawn from `kinds` (seeded)."""
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be within 0..1, got {rate!r}")
        checked = tuple(_check_kind(k) for k in kinds)
        rng = random.Random(self._seed if seed is None else seed)
        with self._lock:
            self._rates.append(_Rate(rate, checked, retry_after, path_contains, delay, rng))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._rates.clear()

    @property
    def rules(self) -> list[Fault]:
        return list(self._rules)

    def pick(self, target: str, page_size: int | None = None) -> Fault | None:
        """The fault for this request, if any (each matching rule counts the request).

        `page_size` is the rows the request asks per data page (None for other requests).
        """
        chosen = None
        with self._lock:
            for rule in self._rules:
                if rule.path_contains and rule.path_contains not in target:
                    continue
                if rule.page_size_above is not None and (
                    page_size is None or page_size <= rule.page_size_above
                ):
                    continue
                rule.seen += 1
                active = rule.times is None or rule.fired < rule.times
                if chosen is None and active and rule.seen > rule.after_requests:
                    rule.fired += 1
                    chosen = rule
            for r in self._rates:
                matches = not r.path_contains or r.path_contains in target
                if chosen is None and matches and r.rng.random() < r.rate:
                    chosen = Fault(r.rng.choice(r.kinds), r.retry_after, None, None, 0, r.delay)
        return chosen


class Latency:
    """A tenant's response time: each API request waits `seconds`, give or take up to `jitter` (uniform,
    seeded), sleeping, so waiting requests cost no CPU and the threading server answers others meanwhile."""

    def __init__(self, seconds: float = 0.0, jitter: float = 0.0, seed: int = 0) -> None:
        if seconds < 0 or jitter < 0:
            raise ValueError(f"latency and latency_jitter must be >= 0 seconds, got {seconds!r}, {jitter!r}")
        self.seconds, self.jitter = seconds, jitter
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> float:
        """The wait of one request, never below 0."""
        if not self.jitter:
            return self.seconds
        with self._lock:
            offset = self._rng.uniform(-self.jitter, self.jitter)
        return max(0.0, self.seconds + offset)


def _check_kind(kind: int | str | None) -> int | str:
    if isinstance(kind, str) and kind.isdigit():
        kind = int(kind)
    if kind in STATUS_KINDS or kind in OTHER_KINDS:
        return kind  # type: ignore[return-value]
    raise ValueError(
        f"unknown fault kind {kind!r}; use one of {sorted(STATUS_KINDS)} or {sorted(OTHER_KINDS)}"
    )
