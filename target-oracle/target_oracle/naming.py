"""Conform Singer stream and property names to Oracle identifiers (shared by every dialect).

Names are upper-cased so that the quoted identifier we always emit equals the unquoted name an Oracle user
types (``OIC.WMS_ALLOCATION``, ``MOD_TS``). Oracle allows 128 bytes per identifier (12.2+); longer names are
cut and given a stable hash suffix so two long names that share a prefix stay distinct and re-runs map a
name to the same column. Reserved words and names starting with ``_`` stay valid because every identifier
is quoted by the SQLAlchemy dialect's identifier preparer.
"""

from __future__ import annotations

import hashlib
import re

MAX_IDENTIFIER_BYTES = 128
_HASH_CHARS = 8
_INVALID = re.compile(r"[^0-9A-Za-z_$#]+")
#: in a name with non-ASCII letters: spaces, dashes, dots, and what no quoted Oracle identifier holds
#: (a double quote, NUL)
_INVALID_UNICODE = re.compile(r'[\s\-."\x00]+')


def _cut_to_bytes(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes without splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def conform_identifier(name: str, max_bytes: int = MAX_IDENTIFIER_BYTES) -> str:
    """Return the upper-case identifier for a stream or property name.

    Characters outside ``[A-Z0-9_$#]`` (spaces, dashes, dots, punctuation) become ``_``; letters are kept,
    including non-ASCII letters, because quoted identifiers accept them (in such a name only spaces, dashes,
    dots, double quotes and NUL, which no quoted Oracle identifier holds, become ``_``). An empty result
    becomes ``_``.
    """
    cleaned = _INVALID.sub("_", name.strip()) if name.isascii() else _INVALID_UNICODE.sub("_", name.strip())
    cleaned = cleaned.upper() or "_"
    if len(cleaned.encode("utf-8")) <= max_bytes:
        return cleaned
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:_HASH_CHARS].upper()
    return f"{_cut_to_bytes(cleaned, max_bytes - _HASH_CHARS - 1)}_{digest}"


#: the staging table of table ``T`` is ``T__STG`` (so no stream's table may end in it)
STAGING_SUFFIX = "__STG"


def staging_name(table_name: str) -> str:
    """Name of the reusable staging table that belongs to ``table_name``."""
    return conform_identifier(f"{table_name}{STAGING_SUFFIX}")
