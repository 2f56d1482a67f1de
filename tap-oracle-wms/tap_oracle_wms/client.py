"""REST plumbing of every entity stream, on the SDK's public hooks: URL and parameters of each page,
pagination (tap_oracle_wms.pagination), retries (the SDK's backoff hooks fed by the run's `RetryPolicy`)
and response checks.

What real tenants do is handled here, each in one place:
- an entity that answers 400 to `ordering`: the same request again without it (`request_decorator`),
  logged once per stream; the stream then reads unsorted (`ordering_refused`);
- an entity that accepts `ordering` but ignores it: found before a run without a bookmark reads, and
  before a run with one writes the first page of a longer walk (`id_extremes`), and read as one that
  refuses it;
- a page that times out (client timeout or gateway 504): the page size halves, down to 25, and the same
  position is asked again at once (`request_decorator`); the smaller size holds for the rest of the stream;
- a certificate error fails at once with a clear message (never retried).
"""

from __future__ import annotations

import typing as t
from http import HTTPStatus

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_oracle_wms.errors import WmsBadRequestError, WmsPageLinkError
from tap_oracle_wms.http import (
    check_response,
    decode_json,
    describe_failure,
    fail_fast_on_tls,
    give_up_clearly,
    on_origin,
    request_label,
)
from tap_oracle_wms.pagination import (
    BODY_ATTR,
    KEYSET,
    LINK,
    NUMBERED,
    Walk,
    WalkPaginator,
    page_member,
    page_records,
    query_value,
    response_body,
    shrunk_page,
    with_query_value,
)

if t.TYPE_CHECKING:
    from backoff.types import Details

    from tap_oracle_wms.http import WmsApi

# Characters left unescaped in query strings so filters read exactly as documented
# (`ordering=mod_ts,id`, `mod_ts__gte=2025-06-18T10:48:26%2B00:00`).
SAFE_QUERY_CHARS = ",:"


class OrderingRefusedError(FatalAPIError):
    """The entity answered 400 to a request carrying `ordering` (caught by `request_decorator`)."""


class WmsStream(RESTStream):
    """Base stream: one LGF API entity endpoint on the tap's shared session and credentials."""

    def __init__(self, tap: t.Any, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        # The run's session, credentials and retry policy, shared with discovery and the other streams.
        self.api: WmsApi = tap.api
        self.page_size = int(self.config.get("page_size", 1250))
        self.sequenced = self.config.get("page_mode", "sequenced") == "sequenced"
        # The walk being read (see tap_oracle_wms.pagination) and its paginator.
        self.walk = Walk("all rows")
        self.paginator: WalkPaginator | None = None
        # Set when the entity answered 400 to `ordering` or ignores it (`id_extremes`): every later
        # request goes without it, and nothing relies on the order rows arrive in.
        self.ordering_refused = False

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

    # Pagination: see tap_oracle_wms.pagination.

    @property
    def scheme(self) -> str:
        """How the current walk pages: link (sequenced mode), keyset or numbered (paged mode)."""
        if self.sequenced:
            return LINK
        return NUMBERED if self.ordering_refused else KEYSET

    def get_new_paginator(self) -> WalkPaginator:
        self.paginator = WalkPaginator(lambda: self.scheme, f"Stream '{self.name}'")
        return self.paginator

    def scope_filters(self) -> dict[str, str]:
        """`company_id__code` / `facility_id__code` from the settings, on every data request."""
        params = {}
        if self.config.get("company_code"):
            params["company_id__code"] = self.config["company_code"]
        if self.config.get("facility_code"):
            params["facility_id__code"] = self.config["facility_code"]
        return params

    def get_url_params(self, context: t.Any, next_page_token: t.Any) -> dict[str, t.Any]:
        """The walk's filters, the page size, the ordering (unless refused) and the page position."""
        params: dict[str, t.Any] = {"page_size": self.page_size}
        if self.sequenced:
            params["page_mode"] = "sequenced"
        params.update(self.scope_filters())
        params.update(self.walk.filters)
        if not self.ordering_refused:
            params["ordering"] = "id" if self.scheme == KEYSET else self.walk.ordering
        if next_page_token is not None:
            params["id__gt" if self.scheme == KEYSET else "page"] = next_page_token
        return params

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """A walk's pages from `get_url_params`; in sequenced mode, pages after the first are the
        `next_page` link as served: its path and query unchanged (the cursor is opaque), the scheme and
        host those of `base_url`, so credentials are never sent to a host the user did not name."""
        token = page.next_page_token
        if token is not None and self.scheme == LINK:
            url = on_origin(str(token), self.url_base)
            if self.ordering_refused:
                url = with_query_value(url, "ordering", None)
            return HTTPRequest(url=url, method="GET", headers=self.http_headers, params={})
        return HTTPRequest(
            url=self.get_url(page.stream_context),
            method="GET",
            headers=self.http_headers,
            params=self.get_url_params(page.stream_context, token),
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
        """The SDK's retrying decorator around one attempt that first deals with what retrying cannot:
        a refused `ordering` and a timed-out page are asked again at once in their new form, a certificate
        error fails at once; once `max_retries` is exhausted, one clear error."""

        def attempt(prepared: requests.PreparedRequest, context: t.Any) -> requests.Response:
            while True:
                try:
                    return t.cast("requests.Response", func(prepared, context))
                except OrderingRefusedError as exc:
                    self.ordering_refused = True
                    self.logger.warning(
                        "Stream '%s': the entity refuses `ordering` (%s); asking again without it. The "
                        "stream reads unsorted: the bookmark moves when the sync completes (largest "
                        "mod_ts seen, capped by the sync's start).",
                        self.name,
                        exc,
                    )
                    self.reading_unsorted()
                    prepared.prepare_url(with_query_value(prepared.url or "", "ordering", None), None)
                except (requests.exceptions.Timeout, RetriableAPIError) as exc:
                    if not self.is_timeout(exc):
                        raise
                    shrunk = shrunk_page(prepared.url or "", self.scheme, self.page_size)
                    if shrunk is None:
                        raise
                    url, size = shrunk
                    self.logger.warning(
                        "Stream '%s': a page of %d rows timed out (%s); page size %d from the same "
                        "position on, for the rest of the stream",
                        self.name,
                        self.page_size,
                        describe_failure(exc),
                        size,
                    )
                    self.page_size = size
                    prepared.prepare_url(url, None)

        return give_up_clearly(
            super().request_decorator(fail_fast_on_tls(attempt)),
            f"Stream '{self.name}'",
            self.api.policy.max_retries,
            ". State emitted so far is intact: rerun with it to resume.",
        )

    @staticmethod
    def is_timeout(exc: BaseException) -> bool:
        """A page that took too long: the client's read timeout, or a gateway's 504."""
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return False
        if isinstance(exc, requests.exceptions.Timeout):
            return True
        response = getattr(exc, "response", None)
        return response is not None and response.status_code == HTTPStatus.GATEWAY_TIMEOUT

    def reading_unsorted(self) -> None:
        """Hook: the stream's rows arrive in no `mod_ts` order from now on."""

    def decode_page(self, content: bytes) -> t.Any:
        """Hook: a page's body as `parse_response` and the paginator read it (here plain JSON)."""
        return decode_json(content)

    def validate_response(self, response: requests.Response) -> None:
        """Classify the status and decode the body inside the retry loop (see `check_response`), with
        what a walk's position adds (see tap_oracle_wms.pagination): a 404 is no rows on a first page,
        and on a later paged-mode page when no rows are left, but an error on a `next_page` link or
        while rows are left; a 5xx when no rows are left is the phantom page of a stale `page_count`,
        the end of the walk; a 400 to a request with `ordering` is a refused ordering."""
        url = response.request.url or ""
        status = response.status_code
        rows_left = None if self.paginator is None or self.scheme == LINK else self.paginator.rows_left
        if status == HTTPStatus.NOT_FOUND and (
            rows_left or (self.scheme == LINK and query_value(url, "cursor") is not None)
        ):
            left = f" ({self.paginator.remaining} rows announced still to read)" if rows_left else ""
            raise WmsPageLinkError(
                f"Stream '{self.name}': HTTP 404 for {request_label(response)} in the middle of a "
                f"walk{left}. State emitted so far is intact: rerun with it to resume."
            )
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR and rows_left is False:
            self.logger.info(
                "Stream '%s': HTTP %d for %s after every row the walk announced: end of the walk",
                self.name,
                status,
                request_label(response),
            )
            setattr(response, BODY_ATTR, None)
            return
        if (
            status == HTTPStatus.BAD_REQUEST
            and not self.ordering_refused
            and query_value(url, "ordering") is not None
        ):
            raise OrderingRefusedError(f"HTTP 400 for {request_label(response)}")
        setattr(
            response,
            BODY_ATTR,
            check_response(response, auth_method=self.api.auth_method, decode=self.decode_page),
        )

    def count_rows(self, filters: dict[str, str]) -> int:
        """Rows matching `filters` now: one paged-mode request of `page_size=1`, its `result_count` (0 for
        the API's 404: no match)."""
        params = {"page_size": 1, **self.scope_filters(), **filters}
        what = f"Stream '{self.name}': row count of {', '.join(f'{k}={v}' for k, v in filters.items())}"
        _, body = self.api.get_with_retries(self.api.entity_url(self.name), what, params)
        if body is None:
            return 0
        count = body.get("result_count") if isinstance(body, dict) else None
        if not isinstance(count, int):
            raise FatalAPIError(f"{what}: a paged-mode page without result_count: {str(body)[:200]}")
        return count

    def id_extremes(self, filters: dict[str, str]) -> tuple[int, int] | None:
        """(smallest id, largest id) of the rows matching `filters`, from two one-row pages (in the
        stream's page mode: a server may honour `ordering` in one mode and not the other) ordered by `id`
        and by `-id`; None when no row matches or when the entity refuses or ignores `ordering` (then
        `ordering_refused` is set, and the reason logged).

        A server that accepts `ordering` and ignores it answers both pages with the same first row while
        more rows match (or a "smallest" id above the "largest"): its rows come in an order of its own, so
        keyset pages, a bookmark moved as rows arrive and the positions of a partitioned sync would skip
        rows. Asked by a run without a bookmark before it reads, and by a run with one before its changes
        walk reads a second page (`EntityStream.run_walks`, `EntityStream.check_order`)."""
        if self.ordering_refused:
            return None
        try:
            low, more = self.first_id(filters, "id")
            if low is None:
                return None
            high, _ = self.first_id(filters, "-id")
        except WmsBadRequestError:
            self.read_unordered("the entity refuses `ordering`")
            return None
        if high is None:
            high = low
        if low > high or (low == high and more):
            self.read_unordered(
                "the server accepts `ordering` but ignores it (ordered by id and by -id, the first row is "
                f"id {low} and id {high} while more rows match)"
            )
            return None
        return low, high

    def read_unordered(self, reason: str) -> None:
        """`ordering` is not sent from now on, and nothing relies on the order rows arrive in; `reason`
        is logged."""
        self.ordering_refused = True
        self.logger.warning(
            "Stream '%s': %s; it is read unsorted (no keyset pages, the bookmark moves when the sync "
            "completes, partition bounds searched by row counts)",
            self.name,
            reason,
        )

    def first_id(self, filters: dict[str, str], ordering: str) -> tuple[int | None, bool]:
        """The id of the first row of `filters` in `ordering` (None when none match) and whether more rows
        match (a paged page's `result_count`, a sequenced page's `next_page`): one page of one row in the
        stream's page mode. Raises WmsBadRequestError on a 400."""
        mode = {"page_mode": "sequenced"} if self.sequenced else {}
        params = {"page_size": 1, **mode, **self.scope_filters(), **filters, "ordering": ordering}
        what = f"Stream '{self.name}': the first id by `ordering={ordering}`"
        _, body = self.api.get_with_retries(self.api.entity_url(self.name), what, params)
        rows = page_records(body)
        if not rows:
            return None, False
        row = rows[0]
        value = row.get("id") if isinstance(row, dict) else None
        if not isinstance(value, int):
            raise FatalAPIError(f"{what}: a row without an integer id: {str(row)[:200]}")
        count = page_member(body, "result_count")
        return value, count > 1 if isinstance(count, int) else bool(page_member(body, "next_page"))

    def response_error_message(self, response: requests.Response) -> str:
        """Status and path only: the SDK default appends the body and header names."""
        return f"HTTP {response.status_code} {response.reason} for {request_label(response)}"

    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        """The page's raw records (shaped by `post_process`)."""
        try:
            return page_records(response_body(response))
        except ValueError as exc:
            raise FatalAPIError(
                f"Stream '{self.name}': unexpected page shape for {request_label(response)}: {exc}"
            ) from None
