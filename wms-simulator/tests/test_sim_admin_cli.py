"""Admin endpoints for other processes, and the command line as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import requests


def test_admin_update_insert_records_requests(api):
    admin = api.sim.admin_url
    r = requests.post(
        f"{admin}/update", json={"entity": "allocation", "ids": [2], "changes": {"status_id": 90}}, timeout=5
    )
    assert r.status_code == 200
    assert api.sim.get("allocation", 2)["status_id"] == 90
    r = requests.post(f"{admin}/insert", json={"entity": "order_dtl", "n": 2}, timeout=5)
    assert r.json() == {"ids": [121, 122]}
    lines = requests.get(f"{admin}/records/order_dtl", timeout=5).text.splitlines()
    assert [json.loads(x)["id"] for x in lines] == list(range(1, 123))
    assert api.sim.requests == []  # admin calls are not logged
    api.get("facility/", page_size=2)
    log = [json.loads(x) for x in requests.get(f"{admin}/requests", timeout=5).text.splitlines()]
    assert log == [
        {
            "method": "GET",
            "path": api.sim.api_url.split(str(api.sim.port))[1] + "/entity/facility/",
            "query": {"page_size": "2"},
            "status": 200,
        }
    ]
    assert requests.post(f"{admin}/clear_requests", json={}, timeout=5).status_code == 200
    assert api.sim.requests == []


def test_admin_faults_clock_and_errors(api):
    admin = api.sim.admin_url
    assert requests.post(f"{admin}/faults", json={"status": 503, "times": 1}, timeout=5).status_code == 200
    assert api.get("facility/").status_code == 503
    requests.post(f"{admin}/faults", json={"status": 500, "times": None}, timeout=5)
    requests.post(f"{admin}/faults", json={"clear": True}, timeout=5)
    assert api.get("facility/").status_code == 200
    before = api.sim.clock_us
    assert (
        requests.post(f"{admin}/clock", json={"advance_seconds": 60}, timeout=5).json()["clock"]
        == before + 60_000_000
    )
    for path, body in (
        ("update", {"entity": "nope", "ids": [1]}),
        ("faults", {"status": 418}),
        ("insert", {}),
    ):
        r = requests.post(f"{admin}/{path}", json=body, timeout=5)
        assert r.status_code == 400 and set(r.json()) == {"reference", "code", "message", "details"}


def test_command_line_prints_url_serves_and_stops_on_sigterm(simulator_process):
    base = simulator_process(
        "--port", "0", "--seed", "3", "--allocation", "50", "--order-hdr", "5", "--order-dtl", "20",
        "--username", "u", "--password", "p",
    )  # fmt: skip
    assert base.startswith("http://127.0.0.1:") and base.endswith("/prod")
    r = requests.get(f"{base}/wms/lgfapi/v10/entity/allocation/", auth=("u", "p"), timeout=5)
    assert r.json()["result_count"] == 50
    assert requests.post(f"{base}/__sim__/insert", json={"entity": "allocation", "n": 1}, timeout=5).ok
    r = requests.get(f"{base}/wms/lgfapi/v10/entity/allocation/", auth=("u", "p"), timeout=5)
    assert r.json()["result_count"] == 51


def test_command_line_rejects_bad_arguments():
    env = {**os.environ}
    proc = subprocess.run(
        [sys.executable, "-m", "wms_simulator", "--order-hdr", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
    )
    assert proc.returncode == 2 and "order_hdr" in proc.stderr
