"""REST plumbing shared by every entity stream: URL, auth, pagination, retries, response parsing.

Pagination follows the API's `next_page` links verbatim (the sequenced-mode cursor is opaque; a
tap that counted pages itself looped forever on a full first page). Retries go through the SDK's
backoff hooks, configured by the run's `RetryPolicy`.
"""

from __future__ import annotations

import threading
import typing as t
from urllib.parse import urlparse, urlsplit, urlunsplit

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseHATEOASPaginator
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_oracle_wms.http import check_response, describe_failure, give_up_clearly, request_label

if t.TYPE_CHECKING:
    from backoff.types import Details

    from tap_oracle_wms.http import WmsApi

# Attribute under which `validate_response` leaves the decoded body for the paginator and parser,
# so each page is decoded once (and a truncated body is caught inside the retry loop).
BODY_ATTR = "_wms_body"
# Characters left unescaped in query strings so filters read exactly as documented
# (`ordering=mod_ts,id`, `mod_ts__gte=2025-06-18T10:48:26.157304%2B00:00`).
SAFE_QUERY_CHARS = ",:"


# A response body is read from the socket this many bytes at a time (requests' own `content` reads 10 KB at
# a time: about 140 reads and a join for a page of 1,250 records).
BODY_CHUNK_BYTES = 1 << 20


def send(session: requests.Session, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
    """`session.send(request, **kwargs)` as requests runs it without `stream=True`, the body read up front
    (the same bytes, the same exceptions on a broken transfer), in chunks of BODY_CHUNK_BYTES."""
    response = session.send(request, stream=True, **kwargs)
    response._content = b"".join(response.iter_content(BODY_CHUNK_BYTES)) or b""  # `content`'s own step
    return response


def response_body(response: requests.Response) -> t.Any:
    """The body `validate_response` decoded (None for a 404, which means no rows)."""
    return getattr(response, BODY_ATTR, None)


class ReadAhead:
    """One page request sent on a background thread while the records of the page before are shaped and
    written; its response (or the exception that stopped it) is collected once, by the request loop."""

    def __init__(
        self, session: requests.Session, request: requests.PreparedRequest, **options: t.Any
    ) -> None:
        self.url = request.url
        self._done = threading.Event()
        self._response: requests.Response | None = None
        self._error: BaseException | None = None
        threading.Thread(
            target=self._send, args=(session, request, options), name="wms-read-ahead", daemon=True
        ).start()

    def _send(self, session: requests.Session, request: requests.PreparedRequest, options: dict) -> None:
        try:
            self._response = send(session, request, **options)
        except BaseException as exc:  # handed to the request loop, which retries as for any request
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> requests.Response:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._response is not None
        return self._response

    def settle(self) -> None:
        """Wait for the request to end, whatever its outcome (before the session is used again)."""
        self._done.wait()


class NextPagePaginator(BaseHATEOASPaginator):
    """Follows `next_page` until it is null; the SDK's paginator stops on a repeated link."""

    def get_next_url(self, response: requests.Response) -> str | None:
        body = response_body(response)
        return body.get("next_page") or None if isinstance(body, dict) else None


class WmsStream(RESTStream):
    """Base stream: one LGF API entity endpoint on the tap's shared session and credentials."""

    # Decoder of this stream's pages into typed records (see `check_response`); None: plain JSON.
    page_decoder: msgspec.json.Decoder | None = None

    @property
    def api(self) -> WmsApi:
        return self._tap.api  # type: ignore[attr-defined, no-any-return]

    @property
    def url_base(self) -> str:
        return self.api.api_root

    @property
    def requests_session(self) -> requests.Session:
        return self.api.session

    @property
    def authenticator(self) -> t.Any:
        return self.api.auth

    @property
    def timeout(self) -> float:  # type: ignore[override]
        return self.api.timeout

    def get_new_paginator(self) -> NextPagePaginator:
        return NextPagePaginator()

    def base_params(self, context: t.Any) -> dict[str, t.Any]:
        """Query parameters of the first page; `next_page` links carry them on."""
        return {}

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """First page: entity URL plus filters; later pages: the `next_page` link as served.

        The link's path and query are used unchanged (the cursor is opaque); the scheme and host
        stay those of `base_url`, so credentials are never sent to a host the user did not name.
        """
        next_link = page.next_page_token
        if next_link:
            base = urlsplit(self.url_base)
            url = urlunsplit((base.scheme, base.netloc, next_link.path, next_link.query, ""))
            return HTTPRequest(url=url, method="GET", headers=self.http_headers, params={})
        return HTTPRequest(
            url=self.get_url(page.stream_context),
            method="GET",
            headers=self.http_headers,
            params=self.base_params(page.stream_context),
            safe_query_chars=SAFE_QUERY_CHARS,
        )

    # Retries: the SDK's backoff hooks, fed by the run's RetryPolicy.

    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        return self.api.policy.wait_gen()  # type: ignore[return-value]

    def backoff_max_tries(self) -> int:
        return self.api.policy.max_tries

    def backoff_jitter(self, value: float) -> float:
        return self.api.policy.jitter(value)

    def backoff_handler(self, details: Details) -> None:
        self.logger.warning(
            "Stream '%s': attempt %d of %d failed (%s); retrying in %.1fs",
            self.name,
            details["tries"],
            self.api.policy.max_tries,
            describe_failure(details["exception"]),  # type: ignore[typeddict-item]
            details.get("wait") or 0.0,
        )

    def request_decorator(self, func: t.Callable) -> t.Callable:
        """The SDK's retrying decorator, plus one clear error once `max_retries` is exhausted."""
        return give_up_clearly(
            super().request_decorator(func),
            f"Stream '{self.name}'",
            self.api.policy.max_retries,
            ". State emitted so far is intact: rerun with it to resume.",
        )

    def _request(self, prepared_request: requests.PreparedRequest, context: t.Any) -> requests.Response:
        """The SDK's request step, answered by the read-ahead when it already asked for this page.

        Pages are requested one at a time and in the same order as without read-ahead; only the next
        page's request starts as soon as the current page is decoded, so the server prepares it while
        the tap shapes and writes the current one. A read-ahead that failed raises its error here,
        inside the retry loop, which then retries the request as usual.
        """
        ahead, self.api.read_ahead = self.api.read_ahead, None
        if ahead is not None and ahead.url == prepared_request.url:
            response = ahead.result()
        else:
            if ahead is not None:
                ahead.settle()
            response = send(
                self.requests_session,
                self.authenticator(prepared_request),
                timeout=self.timeout,
                allow_redirects=self.allow_redirects,
            )
        self._write_request_duration_log(
            endpoint=self.path,
            response=response,
            context=context,
            extra_tags={"url": response.request.path_url} if self._LOG_REQUEST_METRIC_URLS else None,
        )
        self.validate_response(response)
        return response

    def validate_response(self, response: requests.Response) -> None:
        """Classify the status and decode the body inside the retry loop (see `check_response`); then
        start reading the next page ahead."""
        body = check_response(response, auth_method=self.api.auth_method, page_decoder=self.page_decoder)
        setattr(response, BODY_ATTR, body)
        next_link = body.get("next_page") if isinstance(body, dict) else None
        if next_link:
            self.read_ahead(next_link)

    def read_ahead(self, next_link: str) -> None:
        """Send the request the paginator will make for `next_link`, on a background thread."""
        http_request = self.get_http_request(
            page=PageContext(stream_context=None, next_page_token=urlparse(next_link))
        )
        prepared = self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
            data=http_request.data,
        )
        self.api.read_ahead = ReadAhead(
            self.requests_session,
            self.authenticator(prepared),
            timeout=self.timeout,
            allow_redirects=self.allow_redirects,
        )

    def response_error_message(self, response: requests.Response) -> str:
        """Status and path only: the SDK default appends the body and header names."""
        return f"HTTP {response.status_code} {response.reason} for {request_label(response)}"

    def page_records(self, response: requests.Response) -> list[dict[str, t.Any]]:
        """Raw records of one page: `results` of a paged or sequenced page (or a bare list)."""
        body = response_body(response)
        if body is None:
            return []
        if isinstance(body, list):
            return body
        if isinstance(body, dict):
            results = body.get("results")
            if isinstance(results, list):
                return results
        raise FatalAPIError(
            f"Stream '{self.name}': unexpected page shape for {request_label(response)}: "
            f"no 'results' list in a {type(body).__name__}"
        )
