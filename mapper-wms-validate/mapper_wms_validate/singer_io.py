"""Singer message reader and writer for the mapper: msgspec speed, line numbers, raw pass-through.

Why not the SDK's defaults as they are: the default writer encodes with simplejson and flushes after every
message; `singer_sdk.contrib.msgspec` is fast but its reader's errors do not say which line was bad and its
writer re-encodes every message. A validating mapper passes most lines through untouched, so the reader
keeps the raw line and the writer writes it back byte for byte (valid records stay exactly as the tap wrote
them, `time_extracted` and `version` included), encoding only the messages the mapper creates. Output is
flushed on every STATE message and at the end, not per record.
"""

from __future__ import annotations

import decimal
import io
import sys
import typing as t
from collections import Counter

import msgspec
from singer_sdk.contrib.msgspec import dec_hook
from singer_sdk.contrib.msgspec import encoder as sdk_encoder
from singer_sdk.singerlib.encoding.base import GenericSingerReader, GenericSingerWriter
from singer_sdk.singerlib.exceptions import InvalidInputLine

MESSAGE_TYPES = ("RECORD", "SCHEMA", "STATE", "ACTIVATE_VERSION", "BATCH")


def excerpt(line: bytes | str, limit: int = 200) -> str:
    """A short, printable piece of an input line for error messages."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    return text if len(text) <= limit else text[:limit] + "..."


# Input buffer: large reads from a file; from a pipe each read returns what has arrived.
INPUT_BUFFER_BYTES = 1 << 20


class ValidateReader(GenericSingerReader[bytes]):
    """Reads Singer messages (JSON lines), numbering lines so every input error can name its line."""

    def __init__(self) -> None:
        super().__init__()
        # Floats decode to Decimal so quantities keep their exact digits (as the SDK's msgspec reader does).
        self._decoder = msgspec.json.Decoder(dec_hook=dec_hook, float_hook=decimal.Decimal)
        self.line_number = 0
        self.line: bytes = b""  # the line being handled

    @property
    def default_input(self) -> t.IO[bytes]:
        """Standard input as bytes (msgspec decodes bytes without a str round trip), read through a large
        buffer: from a file, 8 KiB reads (the default) cost a system call per 9 records or so. From a pipe
        a read returns what is there, so a line is still handled as soon as it arrives."""
        return open(sys.stdin.fileno(), "rb", buffering=INPUT_BUFFER_BYTES, closefd=False)

    def deserialize_json(self, line: bytes) -> dict:
        """Decode one line; raise InvalidInputLine naming the line number when it is not a JSON object."""
        try:
            message = self._decoder.decode(line)
        except msgspec.DecodeError as exc:
            msg = f"line {self.line_number}: not valid JSON ({exc}): {excerpt(line)}"
            raise InvalidInputLine(msg) from None
        if type(message) is not dict:
            msg = f"line {self.line_number}: a Singer message must be a JSON object, got: {excerpt(line)}"
            raise InvalidInputLine(msg)
        return message

    def raw_line(self) -> bytes:
        """The current input line, as bytes ending in a newline, for unchanged pass-through."""
        line = self.line
        if line[-1:] != b"\n":
            line += b"\n"
        return line

    def process_lines(
        self,
        file_input: t.IO[bytes] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        """Dispatch each line to its callback; blank lines are skipped, unknown types are an error."""
        stats: Counter[str] = Counter()
        filein = file_input or self.default_input
        # `--input` (the SDK's CLI) opens its file as text: read its bytes
        filein = getattr(filein, "buffer", filein)
        decode = self._decoder.decode
        for number, line in enumerate(filein, 1):
            self.line_number = number
            self.line = line
            try:
                message = decode(line)
            except msgspec.DecodeError:
                if not line.strip():
                    continue  # blank lines carry no message
                message = self.deserialize_json(line)  # raises the error naming the line
            if type(message) is not dict:
                message = self.deserialize_json(line)  # raises the error naming the line
            kind = message.get("type")
            callback = callbacks.get(kind) if isinstance(kind, str) else None
            if callback is None:
                msg = (
                    f"line {number}: unknown Singer message type {kind!r} "
                    f"(expected one of {', '.join(MESSAGE_TYPES)}): {excerpt(line)}"
                )
                raise InvalidInputLine(msg)
            callback(message)
            stats[kind] += 1
        return stats


# Output buffer: large enough that a write system call carries a few hundred records, small enough that
# memory stays flat. STATE messages, failures and the end of the run flush it.
OUTPUT_BUFFER_BYTES = 1 << 18


def buffered_stdout() -> t.BinaryIO:
    """Standard output as a large buffered binary stream, installed as `sys.stdout` too.

    With PYTHONUNBUFFERED (set by some runners) `sys.stdout.buffer` is the raw file, one system call per
    write, i.e. per record. Installing the buffered stream as `sys.stdout` keeps one order for everything
    written to standard output, and the interpreter flushes it at exit, even when the run stops on an error.
    """
    current = sys.stdout
    if isinstance(current, io.TextIOWrapper) and getattr(current.buffer, "_wms_validate", False):
        return current.buffer
    current.flush()
    raw = io.FileIO(current.fileno(), "wb", closefd=False)
    out = io.BufferedWriter(raw, buffer_size=OUTPUT_BUFFER_BYTES)
    out._wms_validate = True  # type: ignore[attr-defined]
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors=current.errors, write_through=False)
    return out


class ValidateWriter(GenericSingerWriter[bytes, t.Any]):
    """Writes raw lines as they are, dicts and SDK messages through the SDK's msgspec encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.out = buffered_stdout()
        self.write_raw = self.out.write

    def serialize_message(self, message: t.Any) -> bytes:
        """Bytes for one message line."""
        if isinstance(message, bytes):
            return message
        data = message if isinstance(message, dict) else message.to_dict()
        return sdk_encoder.encode(data) + b"\n"

    def write_message(self, message: t.Any) -> None:
        """Write without flushing (STATE messages and the end of the run flush)."""
        if type(message) is bytes:  # the common case: a line passed through
            self.write_raw(message)
        else:
            self.write_raw(self.serialize_message(message))

    def flush(self) -> None:
        """Push buffered output to the next process (after STATE, before failing, at the end)."""
        sys.stdout.flush()
