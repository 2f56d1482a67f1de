"""Logs of long runs: progress counts at a steady pace, levels intact through the SDK's structured logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

MAPPER = Path(sys.executable).parent / "mapper-wms-validate"

# The logging config Meltano hands a plugin with the `structured-logging` capability: the SDK's
# StructuredFormatter, one JSON object per line on stderr.
STRUCTURED = """\
version: 1
disable_existing_loggers: false
formatters:
  structured:
    (): singer_sdk.logging.StructuredFormatter
handlers:
  console:
    class: logging.StreamHandler
    formatter: structured
    stream: ext://sys.stderr
root:
  level: INFO
  handlers: [console]
"""


def paced_run(config: Path, messages: list[dict], pauses: dict[int, float], env: dict | None = None):
    """Run the mapper with messages written to its stdin as a tap writes them, pausing `pauses[i]`
    seconds before message i; its exit code and standard error."""
    proc = subprocess.Popen(
        [str(MAPPER), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdin is not None
    for index, message in enumerate(messages):
        if index in pauses:
            proc.stdin.flush()
            time.sleep(pauses[index])
        proc.stdin.write(json.dumps(message) + "\n")
    _, stderr = proc.communicate()
    return proc.returncode, stderr


def test_progress_counts_are_logged_during_the_run_and_balance(allocation_schema, make_allocation, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"progress_interval_seconds": 1}))
    records = [make_allocation(i, alloc_qty=0 if i % 10 == 0 else 5) for i in range(1, 3001)]
    # a pause of over a second after each 1,000 records (messages 1,001 and 2,001 come later)
    returncode, stderr = paced_run(config, [allocation_schema, *records], {1001: 1.2, 2001: 1.2})
    assert returncode == 0, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if "Progress of stream 'allocation'" in line]
    assert len(lines) == 2
    for line, expected_in in zip(lines, (1999, 2999), strict=True):
        counts = line.split("': ", 1)[1]
        n_in, passed, quarantined, dropped = (int(part.split()[0]) for part in counts.split(", ")[:4])
        assert n_in == expected_in == passed + quarantined + dropped
        assert quarantined == n_in // 10


def test_no_progress_lines_when_the_interval_is_zero(run_mapper, allocation_schema, make_allocation):
    records = [make_allocation(i) for i in range(1, 2501)]
    result = run_mapper({"progress_interval_seconds": 0}, [allocation_schema, *records])
    assert result.returncode == 0
    assert "Progress of stream" not in result.stderr


def test_structured_logging_keeps_levels_and_progress_fields(tmp_path, allocation_schema, make_allocation):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"progress_interval_seconds": 1}))
    log_config = tmp_path / "logging.yml"
    log_config.write_text(STRUCTURED)
    records = [make_allocation(1, alloc_qty=0)] + [make_allocation(i) for i in range(2, 2001)]
    env = {"SINGER_SDK_LOG_CONFIG": str(log_config)}
    returncode, stderr = paced_run(config, [allocation_schema, *records], {1001: 1.2}, env)
    assert returncode == 0, stderr[-3000:]
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert logs and len(logs) == len([line for line in stderr.splitlines() if line.strip()])
    levels = {entry["message"].split(" ")[0]: entry["level"] for entry in logs}
    assert levels["Quarantined"] == "warning"
    assert levels["Validation"] == "info"
    progress = [entry["extra"]["progress"] for entry in logs if "progress" in entry.get("extra", {})]
    assert progress == [
        {"stream": "allocation", "records_in": 1999, "passed": 1998, "quarantined": 1, "dropped": 0}
    ]


def test_about_reports_structured_logging_and_the_progress_setting():
    proc = subprocess.run(
        [str(MAPPER), "--about", "--format", "json"], capture_output=True, text=True, check=True
    )
    about = json.loads(proc.stdout)
    assert "structured-logging" in about["capabilities"]
    assert about["settings"]["properties"]["progress_interval_seconds"]["default"] == 30
