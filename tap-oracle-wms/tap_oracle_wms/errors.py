"""Exceptions with messages fit for an operator: they name what is wrong and never carry secrets."""

from __future__ import annotations

from urllib.parse import urlsplit

from singer_sdk.exceptions import FatalAPIError


class WmsAuthError(FatalAPIError):
    """Credentials were refused (401/403) or no token could be obtained: retrying cannot help."""


class WmsRetriesExhaustedError(FatalAPIError):
    """A transient failure persisted through every allowed retry."""


class WmsTLSError(FatalAPIError):
    """The server's TLS certificate could not be verified: retrying cannot help."""


class WmsPageLinkError(FatalAPIError):
    """A page the walk still needs (a `next_page` link, a paged page with rows left) answered 404."""


def tls_error(exc: Exception, url: str | None) -> WmsTLSError:
    """One clear error for a failed TLS handshake (not retried: a certificate does not heal in minutes)."""
    host = urlsplit(url or "").netloc or "the server"
    return WmsTLSError(
        f"TLS certificate check failed for {host}: {str(exc)[:300]}. Set 'ca_bundle' to the CA bundle "
        "that signed the server's certificate (or 'verify_tls': false for a test server)."
    )
