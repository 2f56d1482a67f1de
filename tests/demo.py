"""The demo (`make demo`): simulator -> tap -> mapper -> embedded DuckDB -> dbt, then a short summary.

1. installs Meltano (.tools/meltano) and the project's plugins and dbt (`meltano install`);
2. starts the WMS simulator on 127.0.0.1:8765, where the `local` environment of meltano.yml looks;
3. runs the three full-sync jobs (`meltano run --full-refresh allocation_full_sync ...`) into
   output/demo/wms.duckdb;
4. changes and inserts rows in the simulator, runs the three incremental jobs;
5. runs `meltano invoke dbt-duckdb build`, the sources' freshness check (`dbt-duckdb:freshness`) and
   `meltano invoke dbt-duckdb docs generate` (the documentation site with the lineage graph, in
   output/demo/dbt-target/);
6. prints rows per table, rows quarantined per rule, what the incremental run changed, and dbt's results.

Everything the demo writes (DuckDB file, Meltano's state, dbt's site, logs) is in output/demo/, so each
demo starts from scratch, and the project's own output/wms.duckdb and Meltano's system database (.meltano/),
which the README's jobs use, stay empty: those jobs read the simulator a user starts, with other data than
the demo's (it ends with the demo), and would otherwise mix theirs into the demo's tables.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack

import duckdb

from tests.pipeline import ENTITIES, REPO, Pipeline, Simulator, meltano_install, simulator
from tests.warehouse import differences, load_tables, table_name

OUTPUT = REPO / "output" / "demo"
SIZES = {"allocation": 5000, "order_hdr": 500, "order_dtl": 2000}
LOCAL_PORT = 8765  # meltano.yml, environment local: base_url http://127.0.0.1:8765/prod


def say(message: str) -> None:
    print(message, flush=True)


def fresh_output() -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for name in ("wms.duckdb", "wms.duckdb.wal", "meltano.db", "meltano.log"):
        (OUTPUT / name).unlink(missing_ok=True)
    shutil.rmtree(OUTPUT / "dbt-target", ignore_errors=True)


def start_simulator(stack: ExitStack) -> tuple[Simulator, str | None]:
    """The simulator on the local environment's port, or on another one (passed to Meltano) if it is taken."""
    options = {"seed": 42, **SIZES}
    try:
        return stack.enter_context(simulator(port=LOCAL_PORT, log=OUTPUT / "simulator.log", **options)), None
    except RuntimeError:
        sim = stack.enter_context(simulator(port=0, log=OUTPUT / "simulator-2.log", **options))
        say(f"  port {LOCAL_PORT} is taken: simulator on {sim.base_url} (TAP_ORACLE_WMS_BASE_URL)")
        return sim, sim.base_url


def batched_at(pipeline: Pipeline) -> dict[str, dict[int, object]]:
    tables = load_tables(pipeline.duckdb_path)
    return {
        entity: {row["ID"]: row["_SDC_BATCHED_AT"] for row in tables[table_name(entity)].rows}
        for entity in ENTITIES
    }


def table_counts(pipeline: Pipeline) -> None:
    tables = load_tables(pipeline.duckdb_path)
    say("\nRows per table (schema OIC):")
    for name in sorted(tables):
        say(f"  {name:<28} {len(tables[name].rows):>7}")
    say("\nRecords quarantined per rule:")
    rules: Counter[tuple[str, str]] = Counter()
    for name, table in tables.items():
        if name.endswith("_REJECTED"):
            for row in table.rows:
                for rule in row["RULE_NAMES"].split(","):
                    rules[(name.removeprefix("WMS_").removesuffix("_REJECTED").lower(), rule.strip())] += 1
    for (entity, rule), count in sorted(rules.items()) or [(("-", "none"), 0)]:
        say(f"  {entity:<12} {rule:<30} {count:>5}")


def change_the_wms(sim: Simulator) -> dict[str, str]:
    allocations = sim.records("allocation")[:20]
    sim.update("allocation", [r["id"] for r in allocations], {"pick_locn_str": "Z-01-01-01"})
    lines = sim.records("order_dtl")[:5]
    sim.update("order_dtl", [r["id"] for r in lines], {"ord_qty": "9"})
    new_allocations = sim.insert("allocation", 30)
    new_lines = sim.insert("order_dtl", 10)
    return {
        "allocation": f"20 changed (pick_locn_str), {len(new_allocations)} inserted",
        "order_dtl": f"5 changed (ord_qty=9), {len(new_lines)} inserted",
        "order_hdr": "headers of changed and new lines get new totals (kept equal to their lines)",
    }


def incremental_summary(before: dict, after: dict) -> None:
    say("\nWhat the incremental run changed (rewritten includes the rows re-read at the bookmark/look-back):")
    for entity in ENTITIES:
        new = set(after[entity]) - set(before[entity])
        rewritten = {
            i for i in set(after[entity]) & set(before[entity]) if after[entity][i] != before[entity][i]
        }
        untouched = len(after[entity]) - len(new) - len(rewritten)
        say(f"  {entity:<12} {len(new):>4} new, {len(rewritten):>4} rewritten, {untouched:>6} untouched")


def dbt_summary(pipeline: Pipeline) -> bool:
    results = json.loads((pipeline.workdir / "dbt-target" / "run_results.json").read_text())["results"]
    statuses = Counter(result["status"] for result in results)
    say("\ndbt build: " + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())))
    with duckdb.connect(str(pipeline.duckdb_path), read_only=True) as con:
        say("  fct_order_fulfilment (totals):")
        row = con.execute(
            "select count(*), sum(ordered_qty), sum(allocated_qty), sum(packed_qty) "
            "from analytics.fct_order_fulfilment"
        ).fetchone()
        say(f"    {row[0]} orders, ordered {row[1]}, allocated {row[2]}, packed {row[3]}")
        say("  fct_allocation_performance_daily (busiest 3 days):")
        for day, facility, count, ratio in con.execute(
            "select allocation_day, facility_code, allocations, round(packed_ratio, 3) "
            "from analytics.fct_allocation_performance_daily order by allocations desc limit 3"
        ).fetchall():
            say(f"    {day} {facility}: {count} allocations, packed ratio {ratio}")
    return not (statuses.keys() - {"success", "pass", "warn"})


def dbt_docs_summary(pipeline: Pipeline, result: subprocess.CompletedProcess) -> bool:
    """What `dbt docs generate` documented, and how to look at it."""
    site = pipeline.workdir / "dbt-target"
    if result.returncode != 0 or not (site / "catalog.json").exists():
        say((result.stdout + result.stderr)[-3000:])
        return False
    catalog = json.loads((site / "catalog.json").read_text())["nodes"]
    columns = sum(len(node["columns"]) for node in catalog.values())
    where = site.relative_to(REPO)
    say(f"  {len(catalog)} models and seeds, {columns} columns documented: {where}/index.html")
    say(
        f"  browse it, lineage graph included: DBT_TARGET_PATH={where} "
        ".tools/meltano/bin/meltano invoke dbt-duckdb docs serve"
    )
    return True


def main() -> int:
    started = time.monotonic()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    say("Installing Meltano and the project's plugins (meltano install)...")
    meltano_install(log=OUTPUT / "meltano-install.log")
    fresh_output()
    with ExitStack() as stack:
        sim, base_url = start_simulator(stack)
        say(f"Simulator on {sim.base_url}: " + ", ".join(f"{n} {e}" for e, n in SIZES.items()))
        pipeline = Pipeline(workdir=OUTPUT, base_url=base_url)

        say("\n$ meltano run --full-refresh allocation_full_sync order_hdr_full_sync order_dtl_full_sync")
        pipeline.run(*(f"{e}_full_sync" for e in ENTITIES), full_refresh=True)
        table_counts(pipeline)
        before = batched_at(pipeline)

        say("\nChanging the WMS (simulator admin endpoints):")
        for entity, change in change_the_wms(sim).items():
            say(f"  {entity:<12} {change}")
        say("\n$ meltano run " + " ".join(f"{e}_incremental_sync" for e in ENTITIES))
        pipeline.run(*(f"{e}_incremental_sync" for e in ENTITIES))
        incremental_summary(before, batched_at(pipeline))

        tables = load_tables(pipeline.duckdb_path)
        problems = [p for e in ENTITIES for p in differences(e, sim.records(e), tables)]
        verdict = (
            "identical (minus the quarantined records)" if not problems else f"{len(problems)} differences"
        )
        say(f"\nLoaded tables vs the simulator: {verdict}")
        for problem in problems[:10]:
            say(f"  {problem}")

    say("\n$ meltano invoke dbt-duckdb build")
    dbt = pipeline.meltano("invoke", "dbt-duckdb", "build", check=False)
    dbt_ok = dbt.returncode == 0 and dbt_summary(pipeline)
    if not dbt_ok:
        say((dbt.stdout + dbt.stderr)[-3000:])
    say("\n$ meltano invoke dbt-duckdb:freshness")
    freshness = pipeline.meltano("invoke", "dbt-duckdb:freshness", check=False)
    fresh = (freshness.stdout + freshness.stderr).count("PASS freshness of")
    say(f"  {fresh} of {len(ENTITIES)} sources fresh (_SDC_BATCHED_AT within 15 minutes)")
    say("\n$ meltano invoke dbt-duckdb docs generate")
    docs = pipeline.meltano("invoke", "dbt-duckdb", "docs", "generate", check=False)
    docs_ok = dbt_docs_summary(pipeline, docs)
    say(f"\nDone in {time.monotonic() - started:.0f} s. Data: {pipeline.duckdb_path.relative_to(REPO)}")
    say(f"Logs: {(OUTPUT / 'meltano.log').relative_to(REPO)}")
    say(
        "Next, the jobs of the README (into output/wms.duckdb, state in .meltano/): start the simulator in "
        f"another terminal, .venv/bin/wms-simulator --port {LOCAL_PORT}, then "
        ".tools/meltano/bin/meltano run --full-refresh allocation_full_sync"
    )
    return 0 if dbt_ok and docs_ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
