"""Every fault the API's gateways produce is recovered from, or reported as specified."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from singer_sdk.exceptions import FatalAPIError
from tap_oracle_wms.errors import WmsAuthError, WmsRetriesExhaustedError

# The tests run in importlib mode: the sibling test module whose helper is shared here is put on the path.
sys.path.insert(0, str(Path(__file__).parent))
from test_tap_sync import data_requests as page_requests


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "retry_after": 1},
        {"status": 500},
        {"status": 502},
        {"status": 503, "retry_after": 0},
        {"status": 504},
        {"kind": "reset"},
        {"kind": "truncate"},
        {"kind": "incomplete"},
        {"kind": "slow", "delay": 1.5},
    ],
    ids=lambda f: str(f.get("status") or f.get("kind")),
)
def test_tap_transient_fault_on_a_page_is_retried(sim, make_config, run_tap, fault):
    # The second page of allocation (after the two ordering probes and the first page) fails twice, then
    # succeeds.
    injected = sim.faults.add(**fault, times=2, path_contains="/entity/allocation/?", after_requests=3)
    config = make_config(sim, entities=["allocation"], request_timeout=0.5)
    run = run_tap(config)
    assert sorted(r["id"] for r in run.records("allocation")) == sorted(
        r["id"] for r in sim.records("allocation")
    )
    assert injected.fired == 2


def test_tap_retry_after_is_honoured(sim, make_config, run_tap, caplog):
    import logging
    import re

    # After the two ordering probes: the first page.
    sim.faults.add(status=429, retry_after=1, times=1, path_contains="/entity/order_hdr/?", after_requests=2)
    with caplog.at_level(logging.WARNING):
        run = run_tap(make_config(sim, entities=["order_hdr"], backoff_max_seconds=0.01))
    assert [r.status for r in page_requests(sim, "order_hdr")] == [429, 200]
    assert len(run.records("order_hdr")) == sim.count("order_hdr")
    waits = [float(m) for m in re.findall(r"HTTP 429.*retrying in ([0-9.]+)s", caplog.text)]
    assert len(waits) == 1 and waits[0] >= 1.0  # backoff alone would wait 0.01s


def test_tap_fault_during_discovery_is_retried(sim, make_config, run_tap):
    sim.faults.add(status=503, times=2, path_contains="/describe/")
    run = run_tap(make_config(sim, entities=["order_hdr"]))
    assert len(run.records("order_hdr")) == sim.count("order_hdr")


def test_tap_gives_up_after_max_retries_with_clear_error(sim, make_config, run_tap):
    sim.faults.add(status=503, times=None, path_contains="/entity/allocation/?", after_requests=3)
    with pytest.raises(WmsRetriesExhaustedError, match=r"giving up after 3 retries \(max_retries\).*503"):
        run_tap(make_config(sim, entities=["allocation"], max_retries=3))
    assert len(page_requests(sim)) == 1 + 4


@pytest.mark.parametrize("status", [401, 403])
def test_tap_auth_errors_fail_at_once(sim, make_config, run_tap, status):
    sim.faults.add(status=status, times=None, path_contains="/entity/allocation/?")
    with pytest.raises(WmsAuthError, match=f"HTTP {status}.*auth_method=basic"):
        run_tap(make_config(sim, entities=["allocation"]))
    assert len(page_requests(sim, probes=True)) == 1


def test_tap_wrong_password_fails_discovery_without_retry_or_secret(sim, make_config):
    from tap_oracle_wms.tap import TapOracleWMS

    with pytest.raises(WmsAuthError) as info:
        TapOracleWMS(config=make_config(sim, password="not-the-password"))
    assert "401" in str(info.value) and "check username and password" in str(info.value)
    assert "not-the-password" not in str(info.value)
    assert len(sim.requests) == 1


def test_tap_forbidden_user_named_permission(wms_sim_factory, make_config):
    from tap_oracle_wms.tap import TapOracleWMS

    sim = wms_sim_factory(users={"reader": "pw-reader"}, forbidden_users=["reader"])
    with pytest.raises(WmsAuthError, match="lgfapi_read_access"):
        TapOracleWMS(config=make_config(sim, username="reader", password="pw-reader"))


@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_404_on_a_next_page_link_is_an_error_naming_stream_and_url(sim, make_config, tap_cli, page_mode):
    # A 404 for a page the walk still needs (a sequenced link; a paged page while the last page said rows
    # are left) is not "no rows": the run fails, naming the stream and the URL, and the states written
    # before it never claim rows that were not written.
    sim.faults.add(status=404, times=1, path_contains="/entity/allocation/?", after_requests=4)
    result = tap_cli(config=make_config(sim, entities=["allocation"], page_mode=page_mode))
    assert result.returncode != 0
    assert "Stream 'allocation': HTTP 404 for /prod/wms/lgfapi/v10/entity/allocation/?" in result.stderr
    assert "in the middle of a walk" in result.stderr
    assert ("cursor=" if page_mode == "sequenced" else "id__gt=200") in result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len(records) == 200  # the first two pages
    states = [m["value"]["bookmarks"]["allocation"] for m in messages if m["type"] == "STATE"]
    if page_mode == "sequenced":
        assert states[-1]["replication_key_value"] == max(r["mod_ts"] for r in records)
    else:  # keyset pages come in id order: the bookmark moves only when the sync completes
        assert all(s.get("replication_key_value") is None for s in states)


def endless_walk_guarded(tap_cli, config: dict) -> tuple[int, str, str]:
    """The tap run on `config` to its end: return code, stdout, stderr. A walk that never ends would hang
    a plain run; this one is killed after 60 s (then communicate raises: the test fails)."""
    process = tap_cli(config=config, popen=True, text=True)
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, stdout, stderr


def test_tap_next_page_link_given_twice_is_an_error_not_an_endless_walk(
    wms_sim_factory, make_config, tap_cli
):
    # The second page links back to the first, whose link leads to the second again: each link differs
    # from the one before it (the SDK's own check), so without remembering the links a walk never ends.
    sim = wms_sim_factory(sequenced_link_back=True)
    returncode, stdout, stderr = endless_walk_guarded(tap_cli, make_config(sim, entities=["allocation"]))
    assert returncode == 1
    assert "Traceback" not in stderr
    errors = error_lines(stderr)
    assert any("Stream 'allocation': the API's next_page link" in e and "given before" in e for e in errors)
    records = [json.loads(line)["record"] for line in stdout.splitlines() if '"RECORD"' in line]
    assert len(records) == 300  # pages 1, 2, then 1 again
    assert len({r["id"] for r in records}) == 200


@pytest.mark.parametrize(
    ("ignored", "refused", "said"),
    [
        ("id__gt", (), "holds lower ones: the API does not apply id__gt"),
        ("page", ("allocation",), "page 2 holds the same rows as page 1: the API does not apply page"),
    ],
)
def test_tap_a_paged_server_not_applying_its_page_parameter_is_an_error_not_an_endless_walk(
    wms_sim_factory, make_config, tap_cli, ignored, refused, said
):
    # keyset pages (id__gt) and, for an entity refusing `ordering`, numbered pages (page=N): a server that
    # drops that parameter serves the first page again and again
    sim = wms_sim_factory(params_ignored=(ignored,), ordering_refused=refused)
    config = make_config(sim, entities=["allocation"], page_mode="paged")
    returncode, stdout, stderr = endless_walk_guarded(tap_cli, config)
    assert returncode == 1
    assert "Traceback" not in stderr
    assert any(
        f"Stream 'allocation': {'page' if ignored == 'page' else 'the page'}" in e and said in e
        for e in error_lines(stderr)
    )
    records = [json.loads(line)["record"] for line in stdout.splitlines() if '"RECORD"' in line]
    assert len({r["id"] for r in records}) == len(records) // 2  # the first page, twice


def test_tap_an_html_page_instead_of_json_fails_at_once_naming_it(sim, make_config, tap_cli):
    # a sign-in page answered with 200 is no transient fault: no retries, one clear line
    injected = sim.faults.add("html", times=None, path_contains="/entity/allocation/?", after_requests=3)
    result = tap_cli(config=make_config(sim, entities=["allocation"], max_retries=5))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert any(
        "is text/html; charset=utf-8, not JSON ('<!DOCTYPE html>" in e and "check base_url" in e
        for e in error_lines(result.stderr)
    )
    assert injected.fired == 1
    assert "retrying" not in result.stderr


def test_tap_wrong_base_url_says_so(sim, make_config):
    from tap_oracle_wms.tap import TapOracleWMS

    with pytest.raises(FatalAPIError, match=r"HTTP 404.*check base_url"):
        TapOracleWMS(config=make_config(sim, base_url=sim.base_url + "-nope"))


def test_tap_cli_exhausted_retries_exit_nonzero_with_state_intact(sim, make_config, tap_cli):
    sim.faults.add(status=503, times=None, path_contains="/entity/allocation/?", after_requests=4)
    config = make_config(sim, entities=["allocation"], max_retries=2)
    result = tap_cli(config=config)
    assert result.returncode != 0
    assert "giving up after 2 retries (max_retries)" in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    records = [m["record"] for m in lines if m["type"] == "RECORD"]
    states = [m["value"] for m in lines if m["type"] == "STATE"]
    assert len(records) == 200  # two pages of 100 were read, the third kept failing
    bookmark = states[-1]["bookmarks"]["allocation"]["replication_key_value"]
    assert bookmark == max(r["mod_ts"] for r in records)
    assert config["password"] not in result.stderr


def test_tap_cli_test_mode_reports_connectivity_and_credentials(sim, make_config, tap_cli):
    ok = tap_cli("--test", config=make_config(sim))
    assert ok.returncode == 0, ok.stderr
    bad = tap_cli("--test", config=make_config(sim, password="wrong-pw-123"))
    assert bad.returncode != 0
    assert "HTTP 401" in bad.stderr and "check username and password" in bad.stderr
    assert "wrong-pw-123" not in bad.stderr
    down = tap_cli("--test", config=make_config(sim, base_url="http://127.0.0.1:9/prod", max_retries=1))
    assert down.returncode != 0
    assert "entity list: giving up after 1 retries" in down.stderr and "ConnectionError" in down.stderr


def test_tap_cli_invalid_setting_fails_before_any_request(sim, make_config, tap_cli):
    result = tap_cli(config=make_config(sim, page_size=5000))
    assert result.returncode != 0
    assert "page_size" in result.stderr
    assert sim.requests == []


def test_tap_debug_logs_never_show_secrets(sim, make_config, tap_cli):
    config = make_config(sim, entities=["order_hdr"])
    result = tap_cli(config=config, env={"TAP_ORACLE_WMS_LOGLEVEL": "DEBUG"})
    assert result.returncode == 0, result.stderr
    assert "page 1" in result.stderr
    assert config["password"] not in result.stderr
    assert config["password"] not in result.stdout


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR " in line]


@pytest.mark.parametrize(
    ("args", "overrides", "message"),
    [
        (["--discover"], {"password": "wrong-pw-123"}, "the WMS API refused the credentials"),
        ([], {"password": "wrong-pw-123"}, "the WMS API refused the credentials"),
        (["--test"], {"password": "wrong-pw-123"}, "the WMS API refused the credentials"),
        (["--discover"], {"base_url": "http://127.0.0.1:9/prod", "max_retries": 0}, "ConnectionError"),
        (["--discover"], {"entities": ["no_such_entity"]}, "Setting 'entities' names ['no_such_entity']"),
        (["--discover"], {"page_size": 5000}, "page_size"),
    ],
    ids=["discover-401", "sync-401", "test-401", "discover-unreachable", "discover-entities", "config"],
)
def test_tap_cli_user_error_is_one_error_line_without_traceback(
    sim, make_config, tap_cli, args, overrides, message
):
    # Meltano runs `--discover` before every run and shows each traceback line as info: a user's error
    # must come as an ERROR line naming it, exit code 1, no traceback; in discovery, test and sync alike.
    result = tap_cli(*args, config=make_config(sim, **overrides))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert any(message in line for line in error_lines(result.stderr)), result.stderr[-2000:]
    assert "wrong-pw-123" not in result.stderr
    if "--discover" in args:
        assert result.stdout == ""  # no catalog


def test_tap_cli_404_mid_walk_is_one_error_line_without_traceback(sim, make_config, tap_cli):
    sim.faults.add(status=404, times=1, path_contains="/entity/allocation/?", after_requests=4)
    result = tap_cli(config=make_config(sim, entities=["allocation"]))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert any("in the middle of a walk" in line for line in error_lines(result.stderr))


def test_tap_cli_bug_keeps_its_traceback(sim, make_config, tmp_path, monkeypatch):
    # An unexpected exception is not a user's error: it leaves the CLI as it is (the SDK logs it with its
    # traceback).
    from click.testing import CliRunner
    from tap_oracle_wms import tap

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(tap, "describe_to_entity", broken)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(make_config(sim, entities=["allocation"])))
    result = CliRunner().invoke(tap.TapOracleWMS.cli, ["--config", str(config_file), "--discover"])
    assert isinstance(result.exception, RuntimeError)


@pytest.mark.parametrize(
    ("field", "served", "why"),
    [
        ("alloc_qty", "twelve", "not a decimal number"),
        ("mod_ts", "2025-04-02T10:00:00.123456789-03:00", "finer than microseconds"),
        ("picked_ts", "9999-12-31T23:00:00.000000-03:00", "outside years 1..9999"),
    ],
)
def test_tap_cli_value_that_cannot_be_shaped_is_one_error_line_with_states_intact(
    sim, make_config, tap_cli, field, served, why
):
    # The API served it: not the user's mistake, but the run cannot write it as the source has it.
    sim.update("allocation", [250], pick_user="BAD")
    sim.data.overlay["allocation"][250][field] = served  # a value the simulator's own updates never make
    result = tap_cli(config=make_config(sim, entities=["allocation"], page_mode="paged"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert any(
        f"Stream 'allocation', record id=250, field '{field}'" in line and why in line
        for line in error_lines(result.stderr)
    ), result.stderr[-2000:]
    records = [json.loads(line)["record"] for line in result.stdout.splitlines() if '"RECORD"' in line]
    # Every row before it, in id order (keyset pages), and not it.
    assert [r["id"] for r in records] == list(range(1, len(records) + 1))
    assert 200 <= len(records) < 250
