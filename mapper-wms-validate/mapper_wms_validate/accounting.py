"""Per-stream and per-rule counters, and the end-of-run summary (log lines and SDK metric points).

Why this exists: the mapper promises never to lose a record silently. For every stream,
records_in == passed + quarantined + dropped + failed (failed is 0 or 1: a `fail` stops the run), and the
summary shows it, so an operator can check it in the log and tests can assert it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import typing as t

from singer_sdk import metrics

OUTCOMES = ("passed", "quarantined", "dropped", "failed")


@dataclasses.dataclass
class RuleCounts:
    """One rule on one stream: records it looked at, records that broke it, and what happened to those."""

    seen: int = 0
    broken: int = 0
    quarantined: int = 0
    dropped: int = 0
    failed: int = 0

    @property
    def passed(self) -> int:
        """Records that did not break this rule."""
        return self.seen - self.broken


@dataclasses.dataclass
class StreamCounts:
    """One stream's record outcomes; `rules` is keyed by rule name ("schema" for validate_schema)."""

    records_in: int = 0
    passed: int = 0
    quarantined: int = 0
    dropped: int = 0
    failed: int = 0
    rules: dict[str, RuleCounts] = dataclasses.field(default_factory=dict)
    # records_in at the moment each currently active rule was activated (for RuleCounts.seen)
    active_since: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        """The invariant: every record that came in is accounted for by exactly one outcome."""
        return self.records_in == self.passed + self.quarantined + self.dropped + self.failed

    def activate(self, rule_names: t.Iterable[str]) -> None:
        """Start counting `seen` for a new active rule set (on each SCHEMA message)."""
        self.close()
        for name in rule_names:
            self.rules.setdefault(name, RuleCounts())
            self.active_since[name] = self.records_in

    def close(self) -> None:
        """Fold records seen by the active rules into their counters."""
        for name, since in self.active_since.items():
            self.rules[name].seen += self.records_in - since
        self.active_since = {}

    def as_dict(self) -> dict[str, t.Any]:
        """Plain data for logs and tests."""
        return {
            "records_in": self.records_in,
            **{outcome: getattr(self, outcome) for outcome in OUTCOMES},
            "rules": {
                name: {**dataclasses.asdict(c), "passed": c.passed} for name, c in sorted(self.rules.items())
            },
        }


class Accounting:
    """All streams' counters plus the summary writer."""

    def __init__(self) -> None:
        self.streams: dict[str, StreamCounts] = {}

    def stream(self, name: str) -> StreamCounts:
        """The counters of stream `name`, created on first use."""
        counts = self.streams.get(name)
        if counts is None:
            counts = self.streams[name] = StreamCounts()
        return counts

    def summary(self) -> dict[str, dict[str, t.Any]]:
        """Close all open rule windows and return every stream's counters as plain data."""
        for counts in self.streams.values():
            counts.close()
        return {name: counts.as_dict() for name, counts in sorted(self.streams.items())}

    def log_summary(self, logger: logging.Logger, metrics_logger: logging.Logger) -> dict[str, t.Any]:
        """Write the end-of-run summary as readable log lines and as SDK `METRIC:` counter points."""
        summary = self.summary()
        for stream, data in summary.items():
            logger.info(
                "Validation summary for stream '%s': %d in, %d passed, %d quarantined, %d dropped, "
                "%d failed%s",
                stream,
                data["records_in"],
                data["passed"],
                data["quarantined"],
                data["dropped"],
                data["failed"],
                "" if self.streams[stream].balanced else " (COUNTS DO NOT BALANCE: this is a bug)",
            )
            for outcome in OUTCOMES:
                metrics.log(
                    metrics_logger,
                    metrics.Point(
                        "counter",
                        metrics.Metric.RECORD_COUNT,
                        data[outcome],
                        {metrics.Tag.STREAM: stream, "outcome": outcome},
                    ),
                )
            for rule, counts in data["rules"].items():
                logger.info(
                    "  rule '%s' on '%s': %d seen, %d passed, %d quarantined, %d dropped, %d failed",
                    rule,
                    stream,
                    counts["seen"],
                    counts["passed"],
                    counts["quarantined"],
                    counts["dropped"],
                    counts["failed"],
                )
                for outcome in ("seen", *OUTCOMES):
                    if outcome != "seen" and not counts[outcome]:
                        continue  # keep the metrics stream short: zero outcomes per rule are implied
                    metrics.log(
                        metrics_logger,
                        metrics.Point(
                            "counter",
                            metrics.Metric.RECORD_COUNT,
                            counts[outcome],
                            {metrics.Tag.STREAM: stream, "rule": rule, "outcome": outcome},
                        ),
                    )
        return summary


class Progress:
    """Logs every stream's counts (in, passed, quarantined, dropped) at a steady pace during a run.

    `tick()` runs once per record or chunk of records; it only counts down, and reads the clock every
    `CHECK_EVERY` records, so a run pays one clock read per thousand records. A line per stream is
    logged when `interval` seconds have passed since the last ones (never when `interval` is 0).
    """

    CHECK_EVERY = 1000

    def __init__(self, accounting: Accounting, logger: logging.Logger, interval: float) -> None:
        self.accounting = accounting
        self.logger = logger
        self.interval = interval
        self.started = self.last = time.monotonic()
        # with no interval the countdown starts so high that it never reaches zero in a run
        self.countdown = self.CHECK_EVERY if interval > 0 else 1 << 62

    def tick(self, records: int = 1) -> None:
        """Count `records` records; log the counts when their time has come."""
        self.countdown -= records
        if self.countdown <= 0:
            self.countdown = self.CHECK_EVERY
            now = time.monotonic()
            if now - self.last >= self.interval:
                self.last = now
                self.log(now)

    def log(self, now: float) -> None:
        """One INFO line per stream, its counts also as structured fields (`extra`)."""
        elapsed = max(now - self.started, 1e-9)
        for stream, counts in sorted(self.accounting.streams.items()):
            fields = {
                "stream": stream,
                "records_in": counts.records_in,
                "passed": counts.passed,
                "quarantined": counts.quarantined,
                "dropped": counts.dropped,
            }
            self.logger.info(
                "Progress of stream '%s': %d in, %d passed, %d quarantined, %d dropped "
                "(%.0f s, %.0f records/s)",
                stream,
                counts.records_in,
                counts.passed,
                counts.quarantined,
                counts.dropped,
                elapsed,
                counts.records_in / elapsed,
                extra={"progress": fields},
            )
