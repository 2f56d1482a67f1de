"""HTTP policy shared by discovery and the streams: TLS, retries with backoff, status handling.

One place decides what is retried (429, 5xx, timeouts, connection resets, truncated bodies), how
long to wait (exponential backoff with jitter, never shorter than `Retry-After`) and what is fatal
(401/403 at once; other 4xx with the API's error code), so discovery and syncs behave the same.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
import typing as t
from http import HTTPStatus
from urllib.parse import urlsplit, urlunsplit

import backoff  # provided by singer-sdk's python-backoff dependency
import msgspec
import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_oracle_wms.auth import build_auth
from tap_oracle_wms.discovery import entity_names_from_listing
from tap_oracle_wms.errors import (
    WmsAuthError,
    WmsBadRequestError,
    WmsPageLoopError,
    WmsRetriesExhaustedError,
    tls_error,
)
from tap_oracle_wms.pagination import decode_json

# Longest Retry-After honoured; a gateway asking for more is treated as an outage.
RETRY_AFTER_CAP_SECONDS = 900.0
# Bytes a response body is read with at a time (see `WmsSession`); a page of 1,250 rows is about 1.4 MB.
BODY_CHUNK_BYTES = 1 << 20

RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """Seconds asked for by a `Retry-After` header (delta-seconds or HTTP-date), if any."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RetryPolicy:
    """Exponential backoff (`base`, 2x, ... capped at `cap`) with up to 25% added jitter, never
    shorter than the server's `Retry-After`; `max_retries` retries after the first attempt."""

    def __init__(self, *, max_retries: int, base: float, cap: float) -> None:
        self.max_retries = max_retries
        self.base = base
        self.cap = cap

    @property
    def max_tries(self) -> int:
        return self.max_retries + 1

    def wait_gen(self) -> t.Generator[float, t.Any, None]:
        """A `backoff` wait generator; `backoff` sends in each failure's exception."""
        exc = yield  # type: ignore[misc]
        attempt = 0
        while True:
            delay = min(self.cap, self.base * (2**attempt))
            attempt += 1
            asked = retry_after_seconds(getattr(exc, "response", None))
            if asked is not None:
                delay = max(delay, min(asked, RETRY_AFTER_CAP_SECONDS))
            exc = yield delay

    @staticmethod
    def jitter(value: float) -> float:
        """Add up to 25% so many clients do not retry in lockstep; never below `value`."""
        return value + random.uniform(0, value * 0.25)


def describe_failure(exc: BaseException) -> str:
    """Short operator-facing text for a failed attempt (no headers, no credentials)."""
    if isinstance(exc, RetriableAPIError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _api_error_detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        parts = [f"{k}={body[k]!s}" for k in ("code", "message", "reference") if body.get(k)]
        if body.get("details"):
            parts.append(f"details={str(body['details'])[:300]}")
        return ", ".join(parts)
    return str(body)[:200]


def request_label(response: requests.Response) -> str:
    """Path and query of the request (the query carries only filters, never credentials)."""
    parts = urlsplit(response.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def check_response(
    response: requests.Response, *, auth_method: str, decode: t.Callable[[bytes], t.Any] = decode_json
) -> t.Any:
    """Validate one response and return its body decoded by `decode` (plain JSON unless a stream gives
    its page decoder); None for 404 (no rows).

    Raises RetriableAPIError for 429/5xx and for 2xx JSON bodies that are not complete JSON (truncated
    transfers), WmsAuthError for 401/403 and FatalAPIError for any other client error and for a 2xx body
    of another content type that is not JSON (another server's page: retrying cannot help).
    """
    status = response.status_code
    if status == HTTPStatus.NOT_FOUND:
        return None
    label = request_label(response)
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        hint = (
            "check username and password"
            if auth_method == "basic"
            else "check the OAuth2 client, scope and user"
        )
        need = " (the API user needs the lgfapi_read_access permission)" if status == 403 else ""
        raise WmsAuthError(
            f"HTTP {status} {response.reason} for {label}: the WMS API refused the credentials "
            f"(auth_method={auth_method}); {hint}{need}"
        )
    if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise RetriableAPIError(f"HTTP {status} {response.reason} for {label}", response)
    if status == HTTPStatus.BAD_REQUEST:
        raise WmsBadRequestError(f"HTTP 400 {response.reason} for {label}: {_api_error_detail(response)}")
    if status >= HTTPStatus.BAD_REQUEST:
        raise FatalAPIError(f"HTTP {status} {response.reason} for {label}: {_api_error_detail(response)}")
    try:
        return decode(response.content)
    except msgspec.DecodeError as exc:
        content_type = response.headers.get("Content-Type", "")
        if content_type and "json" not in content_type.lower():
            # not a transfer cut short: another server's page (a sign-in page, a proxy's own answer)
            start = response.content[:60].decode("utf-8", "replace")
            raise FatalAPIError(
                f"HTTP {status} {response.reason} for {label} is {content_type}, not JSON ({start!r}...): "
                "something other than the WMS API answered (a sign-in page or a proxy in front of it?); "
                "check base_url and the network path to the API"
            ) from None
        raise RetriableAPIError(
            f"Truncated or invalid JSON body ({len(response.content)} bytes) for {label}: {exc}",
            response,
        ) from None


def with_retries(
    func: t.Callable[..., t.Any],
    policy: RetryPolicy,
    logger: logging.Logger,
    what: str,
) -> t.Callable[..., t.Any]:
    """Wrap `func` in the retry policy; when retries run out, raise one clear error."""

    def on_backoff(details: t.Any) -> None:
        logger.warning(
            "%s: attempt %d of %d failed (%s); retrying in %.1fs",
            what,
            details["tries"],
            policy.max_tries,
            describe_failure(details["exception"]),
            details["wait"],
        )

    retrying = backoff.on_exception(
        policy.wait_gen,
        RETRYABLE_EXCEPTIONS,
        max_tries=policy.max_tries,
        jitter=policy.jitter,
        on_backoff=on_backoff,
        logger=None,
    )(func)

    return give_up_clearly(retrying, what, policy.max_retries)


def give_up_clearly(
    retrying: t.Callable[..., t.Any], what: str, max_retries: int, hint: str = ""
) -> t.Callable[..., t.Any]:
    """Turn the last transient failure, once retries ran out, into one error saying so."""

    def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return retrying(*args, **kwargs)
        except RETRYABLE_EXCEPTIONS as exc:
            raise WmsRetriesExhaustedError(
                f"{what}: giving up after {max_retries} retries (max_retries); "
                f"last failure: {describe_failure(exc)}{hint}"
            ) from exc

    return call


def tls_verify(config: t.Mapping[str, t.Any], environ: t.Mapping[str, str]) -> bool | str:
    """What TLS verification uses: `ca_bundle`, else False when `verify_tls` is false, else the CA bundle
    named by `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` (as requests reads them), else the default store."""
    if config.get("ca_bundle"):
        return str(config["ca_bundle"])
    if not config.get("verify_tls", True):
        return False
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True


class WmsSession(requests.Session):
    """A session whose `verify` is the one answer for every request, and which reads bodies in large
    chunks.

    requests merges `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` into each `Session.request` over
    `Session.verify`, so `verify_tls: false` or a `ca_bundle` would silently lose to the environment;
    `Session.send` (the SDK's path) never reads the environment. `verify` is decided once (`tls_verify`)
    and every request uses it, whichever path sends it; proxies still come from the environment, resolved
    once per origin (`proxies_for`).

    `Response.content` reads a body 10 KB at a time (`requests.models.CONTENT_CHUNK_SIZE`, no setting),
    about 140 reads through urllib3 for a page of 1,250 allocation rows: more CPU than the bytes are worth.
    `send` reads a body that was not asked as a stream BODY_CHUNK_BYTES at a time instead, inside the
    same call as before (so a broken body still fails inside the SDK's retry loop).
    """

    def __init__(self) -> None:
        super().__init__()
        self._proxies_by_origin: dict[tuple[t.Any, ...], dict[str, str]] = {}

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        if "proxies" not in kwargs:
            kwargs["proxies"] = self.proxies_for(request)
        stream = kwargs.pop("stream", False)
        response = super().send(request, stream=True, **kwargs)
        if not stream and response.raw is not None:
            # `_content`: where `Response.content` keeps the body it read; requests has no public way
            # to choose the chunk size `content` reads with.
            response._content = b"".join(response.iter_content(BODY_CHUNK_BYTES))
        return response

    def proxies_for(self, request: requests.PreparedRequest) -> dict[str, str]:
        """The proxies of the request's origin, as `requests.utils.resolve_proxies` gives them (from
        `Session.proxies` and, with `trust_env`, the environment's `*_PROXY` and `NO_PROXY`), asked once
        per origin: requests asks for every request, scanning the whole environment twice (about a
        millisecond in a process Meltano starts with its settings as variables), and neither changes
        during a run."""
        parts = urlsplit(str(request.url))
        key = (parts.scheme, parts.netloc, self.trust_env, tuple(sorted(self.proxies.items())))
        proxies = self._proxies_by_origin.get(key)
        if proxies is None:
            proxies = self._proxies_by_origin[key] = requests.utils.resolve_proxies(
                request, self.proxies, self.trust_env
            )
        return dict(proxies)

    def merge_environment_settings(
        self, url: t.Any, proxies: t.Any, stream: t.Any, verify: t.Any, cert: t.Any
    ) -> dict:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings["verify"] = self.verify if verify is None else verify
        return settings


def make_session(config: t.Mapping[str, t.Any]) -> requests.Session:
    """The run's session: TLS verification as `tls_verify` decides, JSON asked for, a connection kept for
    each thread of a partitioned full sync (requests keeps 10 per host by default)."""
    session = WmsSession()
    adapter = requests.adapters.HTTPAdapter(
        pool_maxsize=max(10, int(config.get("full_sync_partitions") or 1) + 2)
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = tls_verify(config, os.environ)
    session.headers["Accept"] = "application/json"
    return session


def fail_fast_on_tls(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """`func`, with a certificate error raised at once as `WmsTLSError` (requests reports it as a
    ConnectionError, which the retry policy would retry for minutes)."""

    def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return func(*args, **kwargs)
        except requests.exceptions.SSLError as exc:
            url = getattr(exc.request, "url", None)
            raise tls_error(exc, url) from None

    return call


def on_origin(link: str, base: str) -> str:
    """A link the API served, with the scheme and host of `base` (the `base_url`) and its own path and
    query unchanged: credentials are never sent to a host the user did not name."""
    parts, origin = urlsplit(link), urlsplit(base)
    return urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, ""))


class WmsApi:
    """Session, credentials and retry policy of one run, shared by discovery and all streams."""

    def __init__(self, config: t.Mapping[str, t.Any], logger: logging.Logger) -> None:
        self.config = config
        self.logger = logger
        self.session = make_session(config)
        self.auth = build_auth(config, self.session)
        self.auth_method = str(config.get("auth_method", "basic"))
        self.timeout = float(config.get("request_timeout", 60))
        self.policy = RetryPolicy(
            max_retries=int(config.get("max_retries", 8)),
            base=float(config.get("backoff_base_seconds", 1.0)),
            cap=float(config.get("backoff_max_seconds", 60.0)),
        )
        self.api_root = f"{str(config['base_url']).rstrip('/')}/wms/lgfapi/{config.get('api_version', 'v10')}"

    def entity_url(self, entity: str = "") -> str:
        """`{base_url}/wms/lgfapi/{api_version}/entity/{entity}/`."""
        return f"{self.api_root}/entity/{entity}/" if entity else f"{self.api_root}/entity/"

    def get(self, url: str, params: t.Mapping[str, t.Any] | None = None) -> tuple[requests.Response, t.Any]:
        """One GET (no retries): the response and its decoded body (None for a 404)."""
        response = self.session.get(url, params=params, auth=self.auth, timeout=self.timeout)
        return response, check_response(response, auth_method=self.auth_method)

    def get_with_retries(
        self, url: str, what: str, params: t.Mapping[str, t.Any] | None = None
    ) -> tuple[requests.Response, t.Any]:
        """`get` with the retry policy (a certificate error fails at once)."""
        return with_retries(fail_fast_on_tls(self.get), self.policy, self.logger, what)(url, params)

    def get_json(self, url: str, what: str) -> t.Any:
        """GET with the retry policy; 404 raises a clear error (discovery URLs must exist)."""
        response, body = self.get_with_retries(url, what)
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise FatalAPIError(
                f"{what}: HTTP 404 for {request_label(response)}; check base_url (it must include the "
                "environment, e.g. https://tenant.wms.ocs.oraclecloud.com/prod), api_version and entities"
            )
        return body

    def list_entities(self) -> list[str]:
        """Names the API lists at `/entity/` (this also proves connectivity and credentials): every page
        of a list served in paged form (`results` and a `next_page` link), not only the first."""
        url: str | None = self.entity_url()
        names: set[str] = set()
        links: set[str] = set()
        while url:
            body = self.get_json(url, "entity list")
            names.update(entity_names_from_listing(body))
            paged = isinstance(body, dict) and isinstance(body.get("results"), list)
            link = body.get("next_page") if paged else None
            if not link:
                break
            url = on_origin(str(link), self.api_root)
            if url in links:
                raise WmsPageLoopError(
                    f"entity list: the API's next_page link {url} was given before; following it would "
                    "read the same pages forever"
                )
            links.add(url)
        return sorted(names)

    def describe(self, entity: str) -> t.Any:
        """The describe payload of one entity."""
        return self.get_json(f"{self.entity_url(entity)}describe/", f"describe of '{entity}'")
