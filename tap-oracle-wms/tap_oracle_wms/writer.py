"""Singer message writer: msgspec encoding, stdout flushed at STATE messages rather than per record.

msgspec writes `Decimal` as a JSON number with exactly its digits (`decimal_format="number"`), so
quantities reach the target without float rounding, and it is several times faster than the SDK's
default simplejson writer. Flushing only before/with non-RECORD messages keeps a STATE message from
ever being seen ahead of the records it covers, without a system call per record.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.messages import Message, RecordMessage


class WmsMessageWriter(MsgSpecWriter):
    """`MsgSpecWriter` without the per-record flush."""

    def write_message(self, message: Message) -> None:
        stdout = sys.stdout.buffer
        stdout.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
            stdout.flush()
