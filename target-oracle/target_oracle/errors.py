"""The errors that stop a run because of the user's data, streams or settings (not a bug of the target).

The CLI prints their message alone, without a traceback (``TargetOracle.invoke``), and exits non-zero.
"""

from __future__ import annotations


class TargetError(RuntimeError):
    """A run cannot go on; the message names what is wrong (setting, stream, table, key, field)."""


class TargetLoadError(TargetError):
    """A batch could not be loaded; the message names the stream, the table and the database error code."""


class BatchMessageError(TargetLoadError):
    """A BATCH message names files that are missing, unreadable or of an unsupported format (found when the
    message arrives, before any of its files is loaded)."""


class StreamSetupError(TargetError):
    """A stream cannot be given a table: two streams resolve to one table, a property collides with a
    metadata column, a column's type cannot hold the schema's values."""


class RefusedValueError(TargetError):
    """A value the storage contract refuses (it would be rounded, clipped, truncated or lost)."""
