"""HTTP Basic and OAuth2 bearer authentication, as the tenant (behind Oracle IAM/IDCS) does it.

Tokens are opaque random strings that expire after `token_ttl` seconds of wall-clock time (or at
once through `expire_all`), so taps can be tested for refreshing them.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from urllib.parse import parse_qsl


class Auth:
    """Credentials, permissions and issued tokens of one simulator."""

    def __init__(
        self,
        users: dict[str, str],
        forbidden: set[str],
        clients: dict[str, str],
        token_ttl: float,
    ) -> None:
        self.users = users
        self.forbidden = forbidden
        self.clients = clients
        self.token_ttl = token_ttl
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def check(self, header: str | None) -> tuple[int, str]:
        """(200, subject) when allowed, else (401|403, message)."""
        if not header:
            return 401, "Authentication credentials were not provided."
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        subject = None
        if scheme == "basic":
            pair = _basic(value)
            if pair and self.users.get(pair[0]) == pair[1]:
                subject = pair[0]
            else:
                return 401, "Invalid username/password."
        elif scheme == "bearer":
            with self._lock:
                entry = self._tokens.get(value.strip())
            if entry is None:
                return 401, "Invalid token."
            if entry[1] <= time.monotonic():
                return 401, "Token has expired."
            subject = entry[0]
        else:
            return 401, f"Unsupported authorization scheme '{scheme}'."
        if subject in self.forbidden:
            return 403, "You do not have permission to perform this action (lgfapi_read_access)."
        return 200, subject

    def token(self, header: str | None, body: bytes) -> tuple[int, dict]:
        """The token endpoint: client_credentials and password grants, form-encoded (RFC 6749)."""
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        client = _basic(header.partition(" ")[2]) if header and header.lower().startswith("basic ") else None
        if client is None and "client_id" in form:
            client = (form["client_id"], form.get("client_secret", ""))
        if client is None or self.clients.get(client[0]) != client[1]:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed."}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            subject = f"client:{client[0]}"
        elif grant == "password":
            user, password = form.get("username"), form.get("password")
            if user is None or self.users.get(user) != password:
                return 400, {"error": "invalid_grant", "error_description": "Invalid username or password."}
            subject = user
        else:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": f"grant_type {grant!r} is not supported (client_credentials, password).",
            }
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (subject, time.monotonic() + self.token_ttl)
        body_out = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        if "scope" in form:
            body_out["scope"] = form["scope"]
        return 200, body_out

    def expire_all(self) -> None:
        """Make every issued token expired now."""
        with self._lock:
            self._tokens = {t: (s, 0.0) for t, (s, _) in self._tokens.items()}


def _basic(value: str) -> tuple[str, str] | None:
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return (user, password) if sep else None
