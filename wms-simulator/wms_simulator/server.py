"""The HTTP server and the `WmsSimulator` object tests and the command line drive."""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

import msgspec

from .auth import Auth
from .data import ENTITIES, Dataset
from .faults import Fault, Faults, Latency
from .paged import PagedQuirks
from .query import Query, QueryError, count, decode_cursor, encode_cursor, sorted_rows, walk
from .schema import DESCRIBE_VARIANTS, REQUIRED_STYLES, describe

ADMIN = "__sim__"
ERROR_MESSAGES = {
    400: ("VALIDATION_ERROR", "Invalid input."),
    401: ("AUTHENTICATION_FAILED", "Authentication failed."),
    403: ("PERMISSION_DENIED", "Permission denied."),
    404: ("NOT_FOUND", "Not found."),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed."),
    429: ("TOO_MANY_REQUESTS", "Too many requests."),
    500: ("INTERNAL_ERROR", "Internal server error."),
    502: ("BAD_GATEWAY", "Bad gateway."),
    503: ("SERVICE_UNAVAILABLE", "Service unavailable."),
    504: ("GATEWAY_TIMEOUT", "Gateway timeout."),
}


# msgspec's encoder: compact UTF-8 JSON, byte for byte what the stdlib's `json` writes with
# `separators=(",", ":"), ensure_ascii=False` for the values served here (str, int, bool, None, lists,
# dicts), in a tenth of its time (the stdlib encoder took 40 % of rendering a page of 1,250 rows).
_ENCODER = msgspec.json.Encoder()
dumps = _ENCODER.encode


JSON_TYPE = "application/json"
#: The `"html"` fault's body: a sign-in page, as a single sign-on proxy in front of the API answers.
SIGN_IN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign In</title></head>"
    b"<body><form method='post' action='/oauth2/v1/authorize'><input name='username'></form></body></html>\n"
)


def error_body(status: int, message: str | None = None, details: dict | None = None, code: str = "") -> dict:
    """The documented error body: {reference, code, message, details}."""
    default_code, default_message = ERROR_MESSAGES.get(status, ("ERROR", "Error."))
    return {
        "reference": str(uuid.uuid4()),
        "code": code or default_code,
        "message": message or default_message,
        "details": details or {},
    }


@dataclass
class RequestInfo:
    """One request as the simulator saw it (`sim.requests`, and the `on_request` callback's argument)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int | None = None
    entity: str | None = None
    extra: dict = field(default_factory=dict)


class WmsSimulator:
    """A real HTTP server playing Oracle WMS Cloud's LGF API v10 on 127.0.0.1.

    Everything is deterministic from `seed`; rows are generated per id on the fly.
    """

    def __init__(
        self,
        seed: int = 42,
        sizes: dict[str, int] | None = None,
        username: str = "wms",
        password: str = "wms-secret",
        environment: str = "prod",
        anomaly_rate: float = 0.005,
        describe_variant: str = "simple",
        required_style: str = "bool",
        page_size_default: int = 100,
        page_size_max: int = 1250,
        port: int = 0,
        api_version: str = "v10",
        client_id: str = "wms-client",
        client_secret: str = "wms-client-secret",
        token_ttl: float = 3600.0,
        users: dict[str, str] | None = None,
        forbidden_users: tuple[str, ...] | list[str] | set[str] = (),
        sequenced_ordering: str = "honour",
        page_cache_mb: float = 0,
        whole_second_filters: bool = False,
        ordering_refused: tuple[str, ...] | list[str] | set[str] = (),
        ordering_ignored: tuple[str, ...] | list[str] | set[str] = (),
        short_page_every: int = 0,
        stale_page_count: int = 0,
        stale_pages: int = 0,
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        sequenced_link_back: bool = False,
        params_ignored: tuple[str, ...] | list[str] | set[str] = (),
        entity_list_page_size: int = 0,
    ) -> None:
        if describe_variant not in DESCRIBE_VARIANTS:
            raise ValueError(f"describe_variant must be one of {DESCRIBE_VARIANTS}, got {describe_variant!r}")
        if required_style not in REQUIRED_STYLES:
            raise ValueError(f"required_style must be one of {REQUIRED_STYLES}, got {required_style!r}")
        if sequenced_ordering not in ("honour", "ignore"):
            raise ValueError(f"sequenced_ordering must be 'honour' or 'ignore', got {sequenced_ordering!r}")
        if not 1 <= page_size_default <= page_size_max:
            raise ValueError(f"page_size_default must be within 1..{page_size_max}, got {page_size_default}")
        if entity_list_page_size < 0:
            raise ValueError(
                f"entity_list_page_size must be >= 0 (0 = one flat object), got {entity_list_page_size}"
            )
        if page_cache_mb < 0:
            raise ValueError(f"page_cache_mb must be >= 0 (0 = no cache), got {page_cache_mb!r}")
        if not environment or "/" in environment:
            raise ValueError(f"environment must be a single path segment, got {environment!r}")
        switches = {"ordering_refused": ordering_refused, "ordering_ignored": ordering_ignored}
        for name, entities in switches.items():
            unknown = set(entities) - set(ENTITIES)
            if unknown:
                raise ValueError(f"{name} names unknown entities {sorted(unknown)}; known: {list(ENTITIES)}")
        self.seed = seed
        self.environment = environment
        self.api_version = api_version
        self.describe_variant = describe_variant
        self.required_style = required_style
        self.page_size_default = page_size_default
        self.page_size_max = page_size_max
        self.sequenced_ordering = sequenced_ordering
        self.whole_second_filters = whole_second_filters
        self.ordering_refused = frozenset(ordering_refused)
        self.ordering_ignored = frozenset(ordering_ignored)
        self.paged_quirks = PagedQuirks(short_page_every, stale_page_count, stale_pages)
        self.sequenced_link_back = sequenced_link_back
        self.params_ignored = frozenset(params_ignored)
        self.entity_list_page_size = entity_list_page_size
        self.latency = Latency(latency, latency_jitter, seed)
        self.data = Dataset(seed, sizes, anomaly_rate)
        self.auth = Auth(
            {username: password, **(users or {})}, set(forbidden_users), {client_id: client_secret}, token_ttl
        )
        self.username, self.password = username, password
        self.client_id, self.client_secret = client_id, client_secret
        self.faults = Faults(seed)
        self.requests: list[RequestInfo] = []
        self._callbacks: list[Callable[[RequestInfo], None]] = []
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._positions: OrderedDict = OrderedDict()
        self._counts: OrderedDict = OrderedDict()
        self.page_cache = PageCache(int(page_cache_mb * 1024 * 1024))

    def _entity_list_page(self, params: dict[str, str]) -> dict:
        """A page of the entity list in paged form (`entity_list_page_size`): `results` of
        `{"name", "url"}` objects, `?page=N`, `next_page` linking on while names are left."""
        size = self.entity_list_page_size
        try:
            page = int(params.get("page", "1"))
        except ValueError:
            raise QueryError(
                400, "VALIDATION_ERROR", "Invalid input.", {"page": ["Enter a whole number."]}
            ) from None
        names = list(ENTITIES)
        pages = max(1, -(-len(names) // size))
        if not 1 <= page <= pages:
            raise QueryError(404, "NOT_FOUND", f"Page {page} does not exist.")
        link = f"{self.api_url}/entity/?page="
        return {
            "result_count": len(names),
            "page_count": pages,
            "page_nbr": page,
            "next_page": f"{link}{page + 1}" if page < pages else None,
            "previous_page": f"{link}{page - 1}" if page > 1 else None,
            "results": [
                {"name": name, "url": f"{self.api_url}/entity/{name}/"}
                for name in names[(page - 1) * size : page * size]
            ],
        }

    # ----- lifecycle -------------------------------------------------------------------------------
    def start(self) -> WmsSimulator:
        """Bind 127.0.0.1 (a free port unless `port` was given) and serve in a background thread."""
        if self._server is not None:
            return self
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = _Server(("127.0.0.1", self._port), handler)
        self._port = self._server.server_address[1]
        self.data.set_url_root(f"{self.api_url}/entity/")
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="wms-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_forever(self) -> None:
        """Block until `stop()` (used by the command line)."""
        self.start()
        assert self._thread is not None
        while self._server is not None:
            self._thread.join(0.2)

    def __enter__(self) -> WmsSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- addresses -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What the tap's `base_url` setting takes: `http://127.0.0.1:PORT/{environment}`."""
        return f"{self.root_url}/{self.environment}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/wms/lgfapi/{self.api_version}"

    @property
    def entity_segments(self) -> list[str]:
        """The path segments before an entity's name: `{environment}/wms/lgfapi/{version}/entity`."""
        return [self.environment, "wms", "lgfapi", self.api_version, "entity"]

    @property
    def token_url(self) -> str:
        return f"{self.root_url}/oauth2/v1/token"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/{ADMIN}"

    # ----- data ------------------------------------------------------------------------------------
    def records(self, entity: str) -> Iterator[dict]:
        """The current rows exactly as the API serves them, in id order."""
        self._check_entity(entity)
        # No lock across yields: a caller holding a half-read iterator must not block the server.
        return self.data.iter_records(entity)

    def get(self, entity: str, ident: int) -> dict | None:
        self._check_entity(entity)
        with self.data.lock:
            return self.data.get(entity, ident)

    def count(self, entity: str) -> int:
        """Number of rows (base plus inserted)."""
        self._check_entity(entity)
        return self.data.count(entity)

    def update(self, entity: str, ids: list[int] | int, *, mod_ts_ago: float = 0, **changes: object) -> None:
        """Change rows and bump their mod_ts to the simulated clock's now (`mod_ts_ago` seconds before it:
        a late commit)."""
        self._check_entity(entity)
        self.data.update(entity, ids, changes, mod_ts_ago)

    def insert(self, entity: str, n: int, *, mod_ts_ago: float = 0, create_ts_ago: float = 0) -> list[int]:
        """New rows with new ids and fresh mod_ts, referring to existing parents (`mod_ts_ago` /
        `create_ts_ago` seconds before the clock's now: backdated rows, late commits)."""
        self._check_entity(entity)
        return self.data.insert(entity, n, mod_ts_ago, create_ts_ago)

    def advance_clock(self, seconds: float) -> None:
        """Move the simulated clock (the mod_ts of later changes) forward."""
        with self.data.lock:
            self.data.advance(seconds)

    @property
    def clock_us(self) -> int:
        return self.data.clock_us

    def anomaly_ids(self) -> list[int]:
        """Ids of base allocation rows carrying an injected anomaly (scans the ids, not the rows)."""
        return [a for a in range(1, self.data.sizes["allocation"] + 1) if self.data.anomaly_kind(a)]

    def expire_tokens(self) -> None:
        self.auth.expire_all()

    def on_request(self, callback: Callable[[RequestInfo], None]) -> None:
        """`callback(info)` runs before each data page is served (it may call update/insert)."""
        self._callbacks.append(callback)

    def clear_requests(self) -> None:
        self.requests.clear()

    def page_size_asked(self, segments: list[str], params: dict[str, str]) -> int | None:
        """Rows per page a request for a data page asks (its `page_size`, else the default); None for any
        other request. Used by faults with `page_size_above`."""
        if len(segments) != 6 or segments[:5] != self.entity_segments:
            return None
        raw = params.get("page_size", "")
        return int(raw) if raw.isdigit() else self.page_size_default

    def _check_entity(self, entity: str) -> None:
        if entity not in ENTITIES:
            raise ValueError(f"unknown entity {entity!r}; known: {list(ENTITIES)}")

    # ----- pages -----------------------------------------------------------------------------------
    def _page_body(self, entity: str, path: str, params: dict[str, str]) -> bytes:
        """A data page encoded; with `page_cache_mb`, from the cache when the same page of the same data
        was rendered before (errors are never stored: they raise)."""
        cache = self.page_cache
        if not cache.budget:
            return dumps(self._page(entity, path, params))
        data = self.data
        with data.lock:
            cache.follow((data.version, data.clock_us))
            key = (self.root_url, path, tuple(sorted(params.items())))
            body = cache.get(key)
            if body is None:
                body = dumps(self._page(entity, path, params))
                cache.put(key, body)
            return body

    def _page(self, entity: str, path: str, params: dict[str, str]) -> dict:
        if self.params_ignored:
            params = {k: v for k, v in params.items() if k not in self.params_ignored}
        raw_size = params.get("page_size")
        try:
            size = int(raw_size) if raw_size not in (None, "") else self.page_size_default
        except ValueError:
            raise QueryError(
                400, "VALIDATION_ERROR", "Invalid input.", {"page_size": ["A valid integer is required."]}
            ) from None
        if size > self.page_size_max or size < 1:
            raise QueryError(
                400,
                "VALIDATION_ERROR",
                "Invalid input.",
                {"page_size": [f"Ensure this value is between 1 and {self.page_size_max}."]},
            )
        mode = params.get("page_mode", "paged")
        if mode not in ("paged", "sequenced"):
            raise QueryError(
                400, "VALIDATION_ERROR", "Invalid input.", {"page_mode": ["Use 'paged' or 'sequenced'."]}
            )
        honour = mode == "paged" or self.sequenced_ordering == "honour"
        data = self.data
        with data.lock:
            query = Query(
                data,
                entity,
                params,
                honour_ordering=honour,
                refuse_ordering=entity in self.ordering_refused,
                ignore_ordering=entity in self.ordering_ignored,
                whole_second_filters=self.whole_second_filters,
            )
            if mode == "sequenced":
                return self._sequenced(query, path, params, size)
            return self._paged(query, path, params, size)

    def _paged(self, query: Query, path: str, params: dict[str, str], size: int) -> dict:
        data = self.data
        try:
            page = int(params.get("page") or 1)
        except ValueError:
            raise QueryError(404, "NOT_FOUND", "Invalid page.") from None
        plan = query.plan()
        ck = (query.key, data.version)
        total = self._counts.get(ck)
        if total is None:
            total = count(data, plan)
            _remember(self._counts, ck, total)
        if total == 0 and query.has_filters:
            raise QueryError(404, "NOT_FOUND", "No records found matching the query.")
        layout = self.paged_quirks.layout(total, size)
        if layout.is_phantom(page):
            raise QueryError(500, "INTERNAL_ERROR", "Internal server error.")
        if page < 1 or page > layout.page_count:
            raise QueryError(404, "NOT_FOUND", "Invalid page.")
        offset, limit = layout.span(page)
        if plan.mode == "generic":
            rows = sorted_rows(data, plan)[offset : offset + limit]
        else:
            pk = (query.key, data.version, offset)
            state = self._positions.pop(pk, None)
            rows, end, _ = walk(data, plan, state or (0, None), 0 if state else offset, limit)
            _remember(self._positions, (query.key, data.version, offset + limit), end)
        page_count = layout.reported_page_count(page)
        return {
            "result_count": total,
            "page_count": page_count,
            "page_nbr": page,
            "next_page": self._link(path, params, "page", str(page + 1)) if page < page_count else None,
            "previous_page": self._link(path, params, "page", str(page - 1)) if page > 1 else None,
            "results": query.project(rows),
        }

    def _sequenced(self, query: Query, path: str, params: dict[str, str], size: int) -> dict:
        data = self.data
        token = params.get("cursor")
        mode = query._mode()[0]
        after: tuple[int, ...] | None = None
        offset = 0
        if token:
            text = decode_cursor(token)
            tag, _, value = text.partition("=")
            try:
                numbers = [int(x) for x in value.split(",")]
                if tag == "p" and mode == "id" and len(numbers) == 1:
                    after = (numbers[0],)
                elif tag == "m" and mode == "mod" and len(numbers) == 2:
                    after = (numbers[0], numbers[1])
                elif tag == "o" and mode == "generic" and len(numbers) == 1:
                    offset = numbers[0]
                else:
                    raise ValueError(text)
            except ValueError:
                raise QueryError(
                    400, "VALIDATION_ERROR", "Invalid input.", {"cursor": ["Invalid cursor."]}
                ) from None
        plan = query.plan(after)
        if plan.mode == "generic":
            ordered = sorted_rows(data, plan)
            rows = ordered[offset : offset + size]
            more = len(ordered) > offset + size
            next_text = f"o={offset + size}"
        else:
            rows, _, more = walk(data, plan, (0, None), 0, size)
            next_text = ""
            if rows:
                last = rows[-1]
                if mode == "id":
                    next_text = f"p={last['id']}"
                else:
                    mod = data.overlay_mod[query.entity].get(last["id"])
                    if mod is None:
                        mod = data.base_mod_us(query.entity, last["id"])
                    next_text = f"m={mod},{last['id']}"
        if not rows and not token and query.has_filters:
            raise QueryError(404, "NOT_FOUND", "No records found matching the query.")
        link = self._link(path, params, "cursor", encode_cursor(next_text)) if more else None
        if link and token and self.sequenced_link_back:
            # A cursor that restarts: a page reached by a cursor links to the walk's first page.
            link = self._link(path, params, "cursor", None)
        return {
            "next_page": link,
            "previous_page": None,
            "results": query.project(rows),
        }

    def _link(self, path: str, params: dict[str, str], name: str, value: str | None) -> str:
        """The URL of `path` with `params`, `name` set to `value` (None: neither `page` nor `cursor`)."""
        merged = {k: v for k, v in params.items() if k not in ("page", "cursor")}
        if value is not None:
            merged[name] = value
        qs = "&".join(f"{quote(k, safe='!')}={quote(v, safe=',:')}" for k, v in merged.items())
        return f"{self.root_url}{path}?{qs}"


class _Server(ThreadingHTTPServer):
    """One thread per connection; a deeper accept queue than the default 5, for clients that open many
    connections at once (concurrent partitions)."""

    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (its timeout ended while a delayed answer was pending) is no error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class PageCache:
    """Encoded bodies of successful data pages, least recently used first out, within `budget` bytes.

    Keyed by root URL, entity path and the query parameters as parsed (decoded, sorted), for one state of
    the data: any update, insert or clock change empties it (`follow`). Only the rendering is saved:
    the handler authenticates, injects faults, logs and calls `on_request` callbacks on every request.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.bytes = self.hits = self.misses = 0
        self._entries: OrderedDict[tuple, bytes] = OrderedDict()
        self._stamp: tuple | None = None
        self._lock = threading.Lock()

    def follow(self, stamp: tuple) -> None:
        """Drop every entry when the data changed since the last page (`stamp`: version and clock)."""
        with self._lock:
            if stamp != self._stamp:
                self._entries.clear()
                self.bytes = 0
                self._stamp = stamp

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is None:
                self.misses += 1
            else:
                self.hits += 1
                self._entries.move_to_end(key)
            return body

    def put(self, key: tuple, body: bytes) -> None:
        if len(body) > self.budget:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self.bytes += len(body) - (len(old) if old is not None else 0)
            self._entries[key] = body
            while self.bytes > self.budget:
                _, dropped = self._entries.popitem(last=False)
                self.bytes -= len(dropped)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "budget_bytes": self.budget,
                "bytes": self.bytes,
                "entries": len(self._entries),
                "hits": self.hits,
                "misses": self.misses,
            }


def _remember(cache: OrderedDict, key: object, value: object, limit: int = 256) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > limit:
        cache.popitem(last=False)


class _Handler(BaseHTTPRequestHandler):
    """Routes one simulator's requests; `sim` is set on a per-simulator subclass."""

    sim: WmsSimulator
    protocol_version = "HTTP/1.1"
    server_version = "WmsSimulator/0.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read `sim.requests` instead of stderr."""

    # ----- plumbing --------------------------------------------------------------------------------
    _pending: RequestInfo | None = None

    def _log(self, status: int) -> None:
        """Record the request before answering, so a client that has its answer sees it logged."""
        info, self._pending = self._pending, None
        if info is not None:
            info.status = status
            self.sim.requests.append(info)

    def _send(
        self, status: int, body: bytes, headers: dict[str, str] | None = None, content_type: str = JSON_TYPE
    ) -> None:
        self._log(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        buffer: list[bytes] = self._headers_buffer  # type: ignore[attr-defined]
        buffer.append(b"\r\n")
        self.wfile.write(b"".join(buffer) + body)  # one write: no Nagle/delayed-ACK stall
        buffer.clear()

    def _error(self, status: int, message: str | None = None, details: dict | None = None, code: str = ""):
        headers = {"WWW-Authenticate": 'Basic realm="wms"'} if status == 401 else None
        self._send(status, dumps(error_body(status, message, details, code)), headers)
        return status

    def _reset(self) -> None:
        """Abort with a TCP RST (linger 0, then close the descriptor)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())
        self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        sim = self.sim
        split = urlsplit(self.path)
        path = split.path
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        segments = [s for s in path.split("/") if s]
        if ADMIN in segments:
            self._admin(method, segments[segments.index(ADMIN) + 1 :], body)
            return
        info = RequestInfo(method, path, params, dict(self.headers.items()))
        fault = sim.faults.pick(self.path, sim.page_size_asked(segments, params))
        wait = sim.latency.draw()
        if wait:
            time.sleep(wait)
        self._pending = info
        try:
            self._serve(method, segments, path, params, body, info, fault)
        finally:
            self._log(0)

    def _serve(self, method, segments, path, params, body, info: RequestInfo, fault: Fault | None):
        sim = self.sim
        if fault is not None:
            wait = fault.wait()
            if wait:
                time.sleep(wait)
            if fault.kind == "reset":
                self._log(0)
                self._reset()
                return 0
            elif fault.kind == "html":
                self._send(200, SIGN_IN_PAGE, content_type="text/html; charset=utf-8")
                return 200
            elif isinstance(fault.kind, int):
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(
                        int(fault.retry_after)
                        if fault.retry_after == int(fault.retry_after)
                        else fault.retry_after
                    )
                self._send(fault.kind, dumps(error_body(fault.kind, details={"injected": True})), headers)
                return fault.kind
        if segments[:3] == ["oauth2", "v1", "token"]:
            if method != "POST":
                return self._error(405)
            status, token = sim.auth.token(self.headers.get("Authorization"), body)
            self._send(status, dumps(token))
            return status
        if segments[:5] != sim.entity_segments:
            return self._error(404, f"No API at {path}.")
        if method != "GET":
            return self._error(405)
        status, who = sim.auth.check(self.headers.get("Authorization"))
        if status != 200:
            return self._error(status, who)
        rest = segments[5:]
        try:
            out = self._route(rest, path, params, info)
        except QueryError as exc:
            return self._error(exc.status, exc.message, exc.details, exc.code)
        except Exception as exc:  # a simulator bug must still answer, visibly
            traceback.print_exc()
            return self._error(500, f"Simulator error: {exc!r}")
        payload = out if isinstance(out, bytes) else dumps(out)
        if fault is not None and fault.kind in ("truncate", "incomplete"):
            cut = payload[: len(payload) // 2]
            if fault.kind == "truncate":
                self._send(200, cut)
            else:
                self._log(200)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(cut)
                self.close_connection = True
            return 200
        self._send(200, payload)
        return 200

    def _route(self, rest: list[str], path: str, params: dict[str, str], info: RequestInfo) -> object:
        sim = self.sim
        if not rest:
            if sim.entity_list_page_size:
                return sim._entity_list_page(params)
            return {name: f"{sim.api_url}/entity/{name}/" for name in ENTITIES}
        entity = rest[0]
        info.entity = entity
        if entity not in ENTITIES:
            raise QueryError(404, "NOT_FOUND", f"Entity '{entity}' does not exist.")
        if rest[1:] == ["describe"]:
            return describe(entity, sim.describe_variant, sim.required_style)
        if len(rest) == 2:
            try:
                ident = int(rest[1])
            except ValueError:
                raise QueryError(404, "NOT_FOUND", f"No such resource: {path}") from None
            row = sim.get(entity, ident)
            if row is None:
                raise QueryError(404, "NOT_FOUND", f"{entity} {ident} does not exist.")
            return row
        if len(rest) > 2:
            raise QueryError(404, "NOT_FOUND", f"No such resource: {path}")
        for callback in sim._callbacks:
            callback(info)
        canonical = f"/{sim.environment}/wms/lgfapi/{sim.api_version}/entity/{entity}/"
        return sim._page_body(entity, canonical, params)

    # ----- admin -----------------------------------------------------------------------------------
    def _admin(self, method: str, rest: list[str], body: bytes) -> None:
        """Out-of-band control for another process (no auth, never logged in `sim.requests`)."""
        sim = self.sim
        try:
            args = json.loads(body) if body else {}
            if method == "GET" and len(rest) == 2 and rest[0] == "records":
                lines = b"".join(dumps(r) + b"\n" for r in sim.records(rest[1]))
                self._send(200, lines, {"Content-Type": "application/x-ndjson"})
                return
            if method == "GET" and rest == ["page_cache"]:
                self._send(200, dumps(sim.page_cache.stats()))
                return
            if method == "GET" and rest == ["requests"]:
                lines = b"".join(
                    dumps({"method": r.method, "path": r.path, "query": r.query, "status": r.status}) + b"\n"
                    for r in list(sim.requests)
                )
                self._send(200, lines, {"Content-Type": "application/x-ndjson"})
                return
            if method != "POST":
                self._error(405)
                return
            action = rest[0] if rest else ""
            if action == "update":
                sim.update(
                    args["entity"],
                    args["ids"],
                    mod_ts_ago=float(args.get("mod_ts_ago", 0)),
                    **args.get("changes", {}),
                )
                out: object = {"updated": len(args["ids"]), "clock": sim.clock_us}
            elif action == "insert":
                ids = sim.insert(
                    args["entity"],
                    int(args["n"]),
                    mod_ts_ago=float(args.get("mod_ts_ago", 0)),
                    create_ts_ago=float(args.get("create_ts_ago", 0)),
                )
                out = {"ids": ids}
            elif action == "faults":
                if args.pop("clear", False):
                    sim.faults.clear()
                    out = {"cleared": True}
                else:
                    fault = sim.faults.add(**args)
                    out = {"added": fault.kind}
            elif action == "clock":
                sim.advance_clock(float(args.get("advance_seconds", 0)))
                out = {"clock": sim.clock_us}
            elif action == "clear_requests":
                sim.clear_requests()
                out = {"cleared": True}
            elif action == "expire_tokens":
                sim.expire_tokens()
                out = {"expired": True}
            else:
                self._error(404, f"Unknown admin action {action!r}.")
                return
            self._send(200, dumps(out))
        except (KeyError, TypeError, ValueError) as exc:
            self._error(400, f"Bad admin request: {exc}", code="ADMIN_ERROR")
