"""Pagination: the walks a stream makes over its entity, how each moves from page to page, and when it ends.

A *walk* is one filtered read of the entity (the changes since the bookmark, rows created since it, one
clock hour re-read). How its pages follow each other depends on the page mode and on whether the
entity accepts `ordering`:
- `link` (sequenced mode): the API's `next_page` links, followed verbatim (the cursor is opaque; a tap
  that counted pages itself looped forever on a full first page). A null link ends the walk; an empty
  page with a link does not. A 404 on a link is an error: a link the server gave must exist, and so is a
  link the walk was given before (same path and query): following it would read the same pages forever.
- `keyset` (paged mode): `ordering=id`, and after the first page `id__gt=<largest id read>`, always page
  1. A row changed during the walk keeps its id, so no row moves between pages (offset pages skip one
  and repeat another); `page_count` is never relied on. An empty page, or the 404 of a filtered query
  that matches nothing, ends the walk. A page holding an id not above its `id__gt` is an error: the API
  does not apply that filter, and the walk would never end.
- `numbered` (paged mode, the entity refuses `ordering`): `page=N`, the one scheme left. Only an empty
  page or a 404 (a page beyond the last) ends it: a short page and a `page_count` that drops do not. A
  page holding the very rows of the page before is an error: the API does not apply `page`.

In both paged schemes each page's `result_count` tells how many rows the walk still has to read
(`WalkPaginator.remaining`). When none remain, a 404 ends the walk and so does a 5xx: the phantom last
page of a stale `page_count`, which Oracle's servers answer with 500. While rows remain, a 404 is an
error (a page the walk needs is missing) and a 5xx is retried as any other.
"""

from __future__ import annotations

import datetime
import decimal
import typing as t
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import msgspec
from singer_sdk.pagination import BaseAPIPaginator

from tap_oracle_wms.errors import WmsPageLoopError

if t.TYPE_CHECKING:
    import requests

# Smallest page size a timed-out page is halved to.
MIN_PAGE_SIZE = 25
LINK = "link"
KEYSET = "keyset"
NUMBERED = "numbered"
# Attribute under which `validate_response` leaves the decoded body for the paginator and the parser,
# so each page is decoded once (and a truncated body is caught inside the retry loop).
BODY_ATTR = "wms_body"


R = t.TypeVar("R")
# JSON as plain Python values, floats as Decimal so quantities keep every digit from the wire on (a
# msgspec.DecodeError for anything but complete JSON): what discovery reads, and a page a stream's typed
# decoder refuses (`RecordShaper.decode_page`).
decode_json = msgspec.json.Decoder(float_hook=decimal.Decimal).decode


class Page(msgspec.Struct, t.Generic[R], gc=False):
    """A page as a stream decodes it (`RecordShaper.decode_page`): its records typed, and the members of
    the envelope the walk reads (any other member is skipped)."""

    results: list[R]
    next_page: t.Any = None
    result_count: t.Any = None


@dataclass(frozen=True)
class Walk:
    """One filtered read of an entity."""

    # What the logs call it, e.g. "changes since 2025-06-18T10:48:26+00:00".
    label: str
    filters: dict[str, str] = field(default_factory=dict)
    # `ordering` asked for (dropped when the entity refuses it); in paged mode always `id` (keyset).
    ordering: str = "id"
    # Whether its rows move the `mod_ts` bookmark (side walks: backdated rows, re-read hours, do not).
    moves_bookmark: bool = True


def filter_timestamp(value: datetime.datetime, *, upper: bool = False) -> str:
    """A timestamp for a filter: UTC, always with an offset (without one the API reads the user's
    facility time zone), in whole seconds (real tenants refuse fractions). A lower bound is floored,
    an upper bound (`upper`) raised to the next second, so the filter never leaves a row out."""
    value = value.astimezone(datetime.timezone.utc)
    if upper and value.microsecond:
        value += datetime.timedelta(seconds=1)
    return value.replace(microsecond=0).isoformat()


def response_body(response: requests.Response) -> t.Any:
    """The body `validate_response` decoded (None for a 404 read as no rows)."""
    return getattr(response, BODY_ATTR, None)


def page_records(body: t.Any) -> list[t.Any]:
    """Raw records of a decoded page: `results` of a paged or sequenced page, a bare list, or [] for None.
    Raises ValueError for any other shape."""
    if body is None:
        return []
    if isinstance(body, list):
        return body
    if isinstance(body, Page):
        return body.results
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return t.cast("list[t.Any]", body["results"])
    raise ValueError(f"no 'results' list in a {type(body).__name__}")


def page_member(body: t.Any, name: str) -> t.Any:
    """Member `name` of a decoded page's envelope (`next_page`, `result_count`); None when it has none."""
    if isinstance(body, Page):
        return getattr(body, name)
    return body.get(name) if isinstance(body, dict) else None


def query_value(url: str, name: str) -> str | None:
    """The last value of query parameter `name` in `url` (the API reads the last of a repeated one)."""
    values = [v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k == name]
    return values[-1] if values else None


def with_query_value(url: str, name: str, value: str | None) -> str:
    """`url` with query parameter `name` set to `value` (None: removed); the rest of the URL unchanged."""
    parts = urlsplit(url)
    pairs = [p for p in parts.query.split("&") if p and p.split("=", 1)[0] != name]
    if value is not None:
        pairs.append(f"{name}={value}")
    return parts._replace(query="&".join(pairs)).geturl()


def shrunk_page(url: str, scheme: str, page_size: int) -> tuple[str, int] | None:
    """The request for the same position with half the page size (not below MIN_PAGE_SIZE), and that
    size; None when the page is already that small. In a numbered walk the page number is recomputed so
    the new page starts at or before the old one's first row (overlap is harmless, a gap is not)."""
    new_size = max(MIN_PAGE_SIZE, page_size // 2)
    if new_size >= page_size:
        return None
    url = with_query_value(url, "page_size", str(new_size))
    if scheme == NUMBERED:
        page = int(query_value(url, "page") or 1)
        url = with_query_value(url, "page", str((page - 1) * page_size // new_size + 1))
    return url, new_size


class WalkPaginator(BaseAPIPaginator):
    """Next-page tokens of one walk: a `next_page` URL (link), the largest id read (keyset) or a page
    number (numbered); see the module docstring. `scheme` is read at every page: an entity refusing
    `ordering` turns a keyset walk into a numbered one from its first page on."""

    def __init__(self, scheme: t.Callable[[], str], stream_label: str) -> None:
        super().__init__(None)
        self.scheme = scheme
        # "Stream '<name>'", for errors.
        self.stream_label = stream_label
        # Rows read by this walk, and the rows its last paged-mode page said are left to read (None:
        # no page yet, or no `result_count`).
        self.read = 0
        self.remaining: int | None = None
        # Path and query of every `next_page` link this walk was given (link scheme).
        self.links: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        # The ids of the last numbered page (numbered scheme): the next page holding the very same rows
        # means the API does not apply `page`.
        self.last_ids: tuple[int, ...] = ()

    def get_next(self, response: requests.Response) -> t.Any:
        body = response_body(response)
        records = page_records(body)
        scheme = self.scheme()
        if scheme == LINK:
            link = page_member(body, "next_page") or None
            if link is not None:
                parts = urlsplit(str(link))
                seen = (parts.path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True))))
                if seen in self.links:
                    raise WmsPageLoopError(
                        f"{self.stream_label}: the API's next_page link {parts.path}?{parts.query} was given "
                        "before in this walk; following it would read the same pages forever. State "
                        "emitted so far is intact: rerun with it to resume."
                    )
                self.links.add(seen)
            return link
        self.read += len(records)
        count = page_member(body, "result_count")
        if isinstance(count, int):
            # A keyset page counts the rows after the last id read; a numbered page, the whole walk.
            self.remaining = max(0, count - (len(records) if scheme == KEYSET else self.read))
        if not records:
            return None
        url = response.request.url or ""
        if scheme == KEYSET:
            after = self.current_value
            if after is not None and min(record.id for record in records) <= after:
                raise WmsPageLoopError(
                    f"{self.stream_label}: the page asked for ids above {after} (id__gt) holds lower ones: "
                    f"the API does not apply id__gt ({url}), so the walk would read the same rows forever. "
                    "Set page_mode: sequenced for this tenant. State emitted so far is intact."
                )
            return max(record.id for record in records)
        ids = tuple(record.id for record in records)
        page = int(query_value(url, "page") or 1)
        if page > 1 and ids == self.last_ids:
            raise WmsPageLoopError(
                f"{self.stream_label}: page {page} holds the same rows as page {page - 1}: the API does not "
                f"apply page ({url}), so the walk would read the same page forever. Set page_mode: sequenced "
                "for this tenant. State emitted so far is intact."
            )
        self.last_ids = ids
        return page + 1

    def continue_if_empty(self, response: requests.Response) -> bool:
        """An empty page ends a walk, except a sequenced page that still links to a next one."""
        body = response_body(response)
        return self.scheme() == LINK and bool(page_member(body, "next_page"))

    @property
    def rows_left(self) -> bool | None:
        """Whether the last paged-mode page said rows are left to read (None: no such page yet)."""
        return None if self.remaining is None else self.remaining > 0
