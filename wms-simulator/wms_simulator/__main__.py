"""Command line: `wms-simulator --port 8765 --seed 42 --allocation 20000 ...`.

Prints the base URL on one line (flushed) so a parent process can read it, then serves until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .data import DEFAULT_SIZES
from .schema import DESCRIBE_VARIANTS, REQUIRED_STYLES
from .server import WmsSimulator


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wms-simulator", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--seed", type=int, default=42, help="data seed (default 42)")
    for entity, size in DEFAULT_SIZES.items():
        flag = "--" + entity.replace("_", "-")
        p.add_argument(flag, type=int, default=size, dest=entity, help=f"{entity} rows (default {size})")
    p.add_argument("--anomaly-rate", type=float, default=0.005, help="allocation anomaly rate (0.005)")
    p.add_argument("--username", default="wms", help="basic-auth user (default wms)")
    p.add_argument("--password", default="wms-secret", help="basic-auth password (default wms-secret)")
    p.add_argument("--client-id", default="wms-client", help="OAuth2 client id (default wms-client)")
    p.add_argument("--client-secret", default="wms-client-secret", help="OAuth2 client secret")
    p.add_argument("--token-ttl", type=float, default=3600.0, help="bearer token lifetime, seconds (3600)")
    p.add_argument("--environment", default="prod", help="first path segment of base_url (default prod)")
    p.add_argument("--describe-variant", choices=DESCRIBE_VARIANTS, default="simple")
    p.add_argument("--required-style", choices=REQUIRED_STYLES, default="bool")
    p.add_argument("--page-size-default", type=int, default=100, help="page size without ?page_size")
    p.add_argument("--sequenced-ordering", choices=("honour", "ignore"), default="honour")
    p.add_argument(
        "--page-cache-mb",
        type=float,
        default=0,
        help="keep encoded data pages up to this many MB and serve repeats from them (default 0: off)",
    )
    tenant = p.add_argument_group("what real tenants do (all off by default)")
    tenant.add_argument(
        "--whole-second-filters",
        action="store_true",
        help="refuse time filters with a fraction of a second (400)",
    )
    tenant.add_argument(
        "--ordering-refused",
        default="",
        metavar="ENTITY[,ENTITY]",
        help="entities that answer 400 to any `ordering` parameter",
    )
    tenant.add_argument(
        "--ordering-ignored",
        default="",
        metavar="ENTITY[,ENTITY]",
        help="entities that accept any `ordering` parameter but serve their storage order",
    )
    tenant.add_argument(
        "--short-page-every",
        type=int,
        default=0,
        metavar="N",
        help="every N-th paged-mode page holds half a page",
    )
    tenant.add_argument(
        "--stale-page-count",
        type=int,
        default=0,
        metavar="K",
        help="the first pages of a paged walk report page_count K too high; those phantom pages answer 500",
    )
    tenant.add_argument(
        "--stale-pages",
        type=int,
        default=0,
        metavar="P",
        help="pages reporting the stale count (0: the first half)",
    )
    tenant.add_argument("--latency", type=float, default=0.0, help="seconds each API request waits (0)")
    tenant.add_argument(
        "--latency-jitter", type=float, default=0.0, help="give or take up to this many seconds (0)"
    )
    broken = p.add_argument_group("misbehaving servers, for clients' guards (off by default)")
    broken.add_argument(
        "--sequenced-link-back",
        action="store_true",
        help="a sequenced page reached by a cursor links back to the walk's first page (a loop)",
    )
    broken.add_argument(
        "--params-ignored",
        default="",
        metavar="PARAM[,PARAM]",
        help="query parameters data pages do not apply, e.g. page or id__gt (the same page again)",
    )
    p.add_argument(
        "--entity-list-page-size",
        type=int,
        default=0,
        metavar="N",
        help="serve the entity list in paged form, N names a page (0: one flat object)",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        sim = WmsSimulator(
            seed=args.seed,
            sizes={e: getattr(args, e) for e in DEFAULT_SIZES},
            username=args.username,
            password=args.password,
            environment=args.environment,
            anomaly_rate=args.anomaly_rate,
            describe_variant=args.describe_variant,
            required_style=args.required_style,
            page_size_default=args.page_size_default,
            port=args.port,
            client_id=args.client_id,
            client_secret=args.client_secret,
            token_ttl=args.token_ttl,
            sequenced_ordering=args.sequenced_ordering,
            page_cache_mb=args.page_cache_mb,
            whole_second_filters=args.whole_second_filters,
            ordering_refused=tuple(e for e in args.ordering_refused.split(",") if e),
            ordering_ignored=tuple(e for e in args.ordering_ignored.split(",") if e),
            short_page_every=args.short_page_every,
            stale_page_count=args.stale_page_count,
            stale_pages=args.stale_pages,
            latency=args.latency,
            latency_jitter=args.latency_jitter,
            sequenced_link_back=args.sequenced_link_back,
            params_ignored=tuple(p for p in args.params_ignored.split(",") if p),
            entity_list_page_size=args.entity_list_page_size,
        )
        sim.start()
    except (ValueError, OSError) as exc:
        print(f"wms-simulator: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(sim.base_url, flush=True)
    while not stop.wait(0.5):
        pass
    sim.stop()


if __name__ == "__main__":
    main()
