"""Singer message writer: msgspec encoding, stdout flushed at STATE messages rather than per record.

msgspec writes `Decimal` as a JSON number with exactly its digits (`decimal_format="number"`), so
quantities reach the target without float rounding, and it is several times faster than the SDK's
default simplejson writer. Writing records in chunks and flushing with every other message keeps
a STATE message from ever being seen ahead of the records it covers, without a system call per
record.
"""

from __future__ import annotations

import datetime
import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib.messages import Message, RecordMessage

# Records are gathered into writes of about this many bytes.
WRITE_CHUNK_BYTES = 256 * 1024
# `write_record_lines` encodes this many records a call: small enough that the encoded text (about 1 KB a
# record) reuses the heap's memory rather than mapping fresh pages for every page of records.
ENCODE_CHUNK_RECORDS = 64


def record_line_parts(
    stream: str, version: int | None, time_extracted: datetime.datetime
) -> tuple[bytes, bytes]:
    """The bytes before and after the record in the RECORD line `MsgSpecWriter` writes for a message with
    these fields (`RecordMessage.to_dict`: type, stream, record, version if set, time_extracted in UTC)."""
    head = encoder.encode({"type": "RECORD", "stream": stream})[:-1] + b',"record":'
    rest: dict[str, t.Any] = {} if version is None else {"version": version}
    rest["time_extracted"] = time_extracted.astimezone(datetime.timezone.utc)
    return head, b"," + encoder.encode(rest)[1:] + b"\n"


class WmsMessageWriter(MsgSpecWriter):
    """`MsgSpecWriter` without the per-record write and flush.

    RECORD lines are gathered and written in chunks; any other message (SCHEMA, STATE, ...) writes
    what is pending, itself, and flushes. Records still pending when a run dies were not yet
    covered by any STATE, so a resumed run reads them again.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = bytearray()

    def takes_record_lines(self) -> bool:
        """Whether `write_record_line` writes what `write_message` would (not when a subclass writes
        messages elsewhere, e.g. collects them)."""
        return type(self).write_message is WmsMessageWriter.write_message

    def write_record_line(self, head: bytes, record: dict[str, t.Any], tail: bytes) -> None:
        """A RECORD line from its parts (see `record_line_parts`), gathered like any RECORD message."""
        pending = self._pending
        pending += head
        encoder.encode_into(record, pending, -1)
        pending += tail
        if len(pending) >= WRITE_CHUNK_BYTES:
            self._write_pending()

    def write_record_lines(self, head: bytes, records: list[t.Any], tail: bytes) -> None:
        """`write_record_line` for each of `records`, encoded in one call: msgspec writes one record a line
        (its JSON holds no raw newline: strings escape it), and each newline becomes the tail of that
        record's line and the head of the next one's."""
        pending = self._pending
        between = tail + head
        for start in range(0, len(records), ENCODE_CHUNK_RECORDS):
            pending += head
            pending += encoder.encode_lines(records[start : start + ENCODE_CHUNK_RECORDS])[:-1].replace(
                b"\n", between
            )
            pending += tail
            if len(pending) >= WRITE_CHUNK_BYTES:
                self._write_pending()

    def write_message(self, message: Message) -> None:
        self._pending += self.format_message(message)
        if isinstance(message, RecordMessage):
            if len(self._pending) >= WRITE_CHUNK_BYTES:
                self._write_pending()
            return
        self._write_pending()
        sys.stdout.flush()
        sys.stdout.buffer.flush()

    def _write_pending(self) -> None:
        """The gathered lines to stdout in one write."""
        sys.stdout.buffer.write(self._pending)
        self._pending.clear()
