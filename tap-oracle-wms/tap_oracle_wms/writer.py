"""Singer message writer: msgspec encoding, stdout flushed at STATE messages rather than per record.

msgspec writes `Decimal` as a JSON number with exactly its digits (`decimal_format="number"`), so
quantities reach the target without float rounding, and it is several times faster than the SDK's
default simplejson writer. Writing records in chunks and flushing with every other message keeps
a STATE message from ever being seen ahead of the records it covers, without a system call per
record.
"""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.messages import Message, RecordMessage

# Records are gathered into writes of about this many bytes.
WRITE_CHUNK_BYTES = 256 * 1024


class WmsMessageWriter(MsgSpecWriter):
    """`MsgSpecWriter` without the per-record write and flush.

    RECORD lines are gathered and written in chunks; any other message (SCHEMA, STATE, ...) writes
    what is pending, itself, and flushes. Records still pending when a run dies were not yet
    covered by any STATE, so a resumed run reads them again.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = bytearray()

    def write_message(self, message: Message) -> None:
        self._pending += self.format_message(message)
        if isinstance(message, RecordMessage) and len(self._pending) < WRITE_CHUNK_BYTES:
            return
        stdout = sys.stdout.buffer
        stdout.write(self._pending)
        self._pending.clear()
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
            stdout.flush()
