"""Oracle sink."""

from __future__ import annotations

from singer_sdk.sinks import SQLSink


class OracleSink(SQLSink):
    """Loads one stream."""
