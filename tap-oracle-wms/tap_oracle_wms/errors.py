"""Exceptions with messages fit for an operator: they name what is wrong and never carry secrets."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class WmsAuthError(FatalAPIError):
    """Credentials were refused (401/403) or no token could be obtained: retrying cannot help."""


class WmsRetriesExhaustedError(FatalAPIError):
    """A transient failure persisted through every allowed retry."""


class WmsTLSError(FatalAPIError):
    """The server's TLS certificate could not be verified: retrying cannot help."""


class WmsPageLinkError(FatalAPIError):
    """A `next_page` link the server gave answered 404 in the middle of a walk."""
