"""Exceptions with messages fit for an operator: they name what is wrong and never carry secrets."""

from __future__ import annotations

import contextlib
import sys
import typing as t
from urllib.parse import urlsplit

from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

if t.TYPE_CHECKING:
    import logging


class WmsAuthError(FatalAPIError):
    """Credentials were refused (401/403) or no token could be obtained: retrying cannot help."""


class WmsRetriesExhaustedError(FatalAPIError):
    """A transient failure persisted through every allowed retry."""


class WmsTLSError(FatalAPIError):
    """The server's TLS certificate could not be verified: retrying cannot help."""


class WmsBadRequestError(FatalAPIError):
    """The API answered 400 (e.g. an entity refusing `ordering`)."""


class WmsPageLinkError(FatalAPIError):
    """A page the walk still needs (a `next_page` link, a paged page with rows left) answered 404."""


class RecordShapeError(ValueError):
    """A value the API served cannot be shaped into the contract (names stream, record and field)."""


class WmsStateError(ValueError):
    """The state given to the tap (`--state`) cannot be continued from: what and where is named."""


class WmsPageLoopError(FatalAPIError):
    """The API's pages do not advance: a `next_page` link the walk was given before."""


def tls_error(exc: Exception, url: str | None) -> WmsTLSError:
    """One clear error for a failed TLS handshake (not retried: a certificate does not heal in minutes)."""
    host = urlsplit(url or "").netloc or "the server"
    return WmsTLSError(
        f"TLS certificate check failed for {host}: {str(exc)[:300]}. Set 'ca_bundle' to the CA bundle "
        "that signed the server's certificate (or 'verify_tls': false for a test server)."
    )


@contextlib.contextmanager
def errors_exit(logger: logging.Logger) -> t.Iterator[None]:
    """An error of the settings, of the state, of a value the API served or of the API (FatalAPIError:
    the classes above, an unreachable host after its retries, a refused request, a failed discovery) is
    logged at ERROR as its message alone and the process exits with code 1: the operator's mistake needs
    no traceback, and Meltano keeps the level of a log line but reads each traceback line as info. Any
    other exception, a bug, keeps its traceback.
    """
    try:
        yield
    except ConfigValidationError as exc:
        for error in exc.errors:
            logger.error("Config validation error: %s", error)
        logger.error("%s", exc)
        sys.exit(1)
    except (FatalAPIError, WmsStateError, RecordShapeError) as exc:
        logger.error("%s", exc)
        sys.exit(1)
