"""Exceptions with messages fit for an operator: they name what is wrong and never carry secrets."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class WmsAuthError(FatalAPIError):
    """Credentials were refused (401/403) or no token could be obtained: retrying cannot help."""


class WmsRetriesExhaustedError(FatalAPIError):
    """A transient failure persisted through every allowed retry."""
