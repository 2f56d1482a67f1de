"""Authentication: HTTP Basic, or OAuth2 bearer tokens fetched from the tenant's identity domain.

One authenticator object is shared by discovery and every stream of a run, so an OAuth2 token is
fetched once, cached, and refreshed shortly before it expires rather than after a 401.
"""

from __future__ import annotations

import threading
import time
import typing as t

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from tap_oracle_wms.errors import WmsAuthError, tls_error

# Refresh this long before the token's announced expiry (clock skew, long pages in flight).
REFRESH_MARGIN_SECONDS = 60
# Lifetime assumed when the token endpoint gives no `expires_in`.
DEFAULT_TOKEN_LIFETIME_SECONDS = 300


class OAuth2TokenAuth(AuthBase):
    """Bearer auth with a cached token: resource-owner password grant when `username` is set (the
    grant Oracle documents for the WMS API), client credentials otherwise."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None,
        username: str | None,
        password: str | None,
        session: requests.Session,
        timeout: float,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.username = username
        self._password = password
        self._session = session
        self._timeout = timeout
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.fetch_count = 0

    def __repr__(self) -> str:  # never show secrets, e.g. in tracebacks or debug logs
        return f"OAuth2TokenAuth(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def _token_request_body(self) -> dict[str, str]:
        body = {"grant_type": "client_credentials"}
        if self.username:
            body = {"grant_type": "password", "username": self.username, "password": self._password or ""}
        if self.scope:
            body["scope"] = self.scope
        return body

    def _fetch(self) -> None:
        try:
            response = self._session.post(
                self.token_url,
                data=self._token_request_body(),
                auth=HTTPBasicAuth(self.client_id, self._client_secret),
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.exceptions.SSLError as exc:
            raise tls_error(exc, self.token_url) from None
        except requests.RequestException as exc:
            raise WmsAuthError(
                f"OAuth2 token request to oauth_token_url failed: {type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise WmsAuthError(
                f"OAuth2 token request to oauth_token_url answered HTTP {response.status_code}: "
                "check oauth_client_id, oauth_client_secret, oauth_scope (and username/password for "
                "the password grant)"
            )
        try:
            payload = response.json()
            token = payload["access_token"]
        except (ValueError, KeyError, TypeError):
            raise WmsAuthError("OAuth2 token response from oauth_token_url has no access_token") from None
        lifetime = payload.get("expires_in") or DEFAULT_TOKEN_LIFETIME_SECONDS
        try:
            lifetime = float(lifetime)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 10)
        self._token = str(token)
        self._expires_at = time.monotonic() + lifetime - margin
        self.fetch_count += 1

    def token(self) -> str:
        """The cached token, fetched again when it is missing or about to expire."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._fetch()
            return t.cast("str", self._token)

    def invalidate(self) -> None:
        """Forget the cached token (e.g. after a 401) so the next request fetches a fresh one."""
        with self._lock:
            self._token = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


class SafeBasicAuth(HTTPBasicAuth):
    """HTTP Basic auth whose repr never shows the password."""

    def __repr__(self) -> str:
        return f"SafeBasicAuth(username={self.username!r})"


def build_auth(config: t.Mapping[str, t.Any], session: requests.Session) -> AuthBase:
    """The authenticator for `auth_method` (settings were validated at start)."""
    if config.get("auth_method", "basic") == "oauth2":
        return OAuth2TokenAuth(
            token_url=config["oauth_token_url"],
            client_id=config["oauth_client_id"],
            client_secret=config["oauth_client_secret"],
            scope=config.get("oauth_scope"),
            username=config.get("username"),
            password=config.get("password"),
            session=session,
            timeout=float(config.get("request_timeout", 60)),
        )
    return SafeBasicAuth(config["username"], config["password"])
