"""The files a BATCH message names: local paths, or any URL fsspec opens.

A manifest entry that is a plain path or a ``file://`` URL is read where it is. Any other URL (``s3://``,
``gs://``, ``az://``, ``sftp://``, a chained URL such as ``simplecache::s3://...``: whatever fsspec opens, as
the SDK's batch writer in the tap and the mapper do) is copied once, byte for byte, to a local temporary
file, which DuckDB and the Python checks then read like a local file (so every format, compression and check
works the same). A scheme whose fsspec package is not installed (s3fs, gcsfs, adlfs, ...) fails clearly.

After the batch holding a file is committed the local copy is removed, and the file itself (through fsspec
for a URL) unless ``keep_batch_files``. Copies of a batch never committed are removed when the target stops;
a killed target's copies carry the spool prefix, so the next run removes them with its orphan spools.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from target_oracle.errors import BatchMessageError

#: every temporary file of the target (spools, copies of BATCH files) is ``<temp dir>/<prefix><pid>-...``,
#: so the next run removes those of a killed target (``sinks.remove_orphan_spools``).
TEMP_PREFIX = "target-oracle-spool-"
_LOCAL_SCHEMES = frozenset({"", "file"})

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class BatchFile:
    """One manifest entry: the URL as the message names it, and the local file read for it."""

    url: str
    path: str
    #: True when ``path`` is this target's temporary copy of a non-local ``url``
    copied: bool = False

    @property
    def identity(self) -> str:
        """What two manifest entries naming the same file share: the URL of a remote file, the absolute
        path of a local one (``/d/f.json`` and ``file:///d/f.json`` alike)."""
        return self.url if self.copied else self.path


def open_batch_file(stream: str, url: str) -> BatchFile:
    """The manifest entry ``url`` as a local file (copied first when it is not local); a missing or
    unreadable file fails naming the stream and the URL."""
    parsed = urlparse(url)
    if parsed.scheme in _LOCAL_SCHEMES:
        path = os.path.abspath(unquote(parsed.path) if parsed.scheme else url)
        if not Path(path).is_file():
            raise BatchMessageError(f"Stream '{stream}': BATCH file(s) not found: {url}")
        return BatchFile(url, path)
    return _copy(stream, url)


def _copy(stream: str, url: str) -> BatchFile:
    import fsspec

    try:
        fs, fs_path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        msg = (
            f"Stream '{stream}': BATCH file {url} cannot be opened: {exc} (a URL scheme needs its fsspec "
            "package installed beside target-oracle, e.g. s3fs for s3://, gcsfs for gs://, adlfs for az://)"
        )
        raise BatchMessageError(msg) from exc
    name = os.path.basename(fs_path.rstrip("/")) or "batch-file"
    fd, local = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=f"-{name}")
    try:
        with fs.open(fs_path, "rb") as src, open(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except FileNotFoundError as exc:
        Path(local).unlink(missing_ok=True)
        raise BatchMessageError(f"Stream '{stream}': BATCH file(s) not found: {url}") from exc
    except Exception as exc:
        Path(local).unlink(missing_ok=True)
        raise BatchMessageError(f"Stream '{stream}': BATCH file {url} could not be read: {exc}") from exc
    return BatchFile(url, local, copied=True)


def remove_batch_file(file: BatchFile, *, keep: bool) -> None:
    """After its batch is committed: the local copy removed, and the file itself unless ``keep``."""
    if file.copied:
        Path(file.path).unlink(missing_ok=True)
    if keep:
        return
    if not file.copied:
        Path(file.path).unlink(missing_ok=True)
        return
    import fsspec

    try:
        fs, fs_path = fsspec.core.url_to_fs(file.url)
        fs.rm(fs_path)
    except FileNotFoundError:
        pass
    except Exception as exc:  # the records are committed: a file left behind is not a failure of the load
        logger.warning("BATCH file %s was loaded but could not be removed: %s", file.url, exc)


def discard_copy(file: BatchFile) -> None:
    """A batch not committed (the target stops): its local copy removed, the file itself kept."""
    if file.copied:
        Path(file.path).unlink(missing_ok=True)
