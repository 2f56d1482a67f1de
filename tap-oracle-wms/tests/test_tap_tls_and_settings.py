"""TLS settings win over the environment, certificate errors fail at once, and settings mistakes are
named without secrets or tracebacks."""

from __future__ import annotations

import http.server
import json
import ssl
import subprocess
import threading
import time

import certifi
import pytest
from tap_oracle_wms.errors import WmsTLSError
from tap_oracle_wms.tap import TapOracleWMS

LISTING = {"allocation": "https://127.0.0.1/prod/wms/lgfapi/v10/entity/allocation/"}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        describe = {"fields": {"id": {"type": "pk", "required": True}}}
        body = json.dumps(describe if self.path.endswith("/describe/") else LISTING).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def https_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate: (base_url, certificate file)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/prod", cert
    server.shutdown()


def config(base_url: str, **overrides) -> dict:
    return {
        "base_url": base_url,
        "username": "u",
        "password": "p",
        "entities": ["allocation"],
        "backoff_base_seconds": 1.0,
        **overrides,
    }


def test_tap_certificate_error_fails_at_once_with_a_clear_message(https_server):
    base_url, _ = https_server
    started = time.monotonic()
    with pytest.raises(WmsTLSError, match=r"TLS certificate check failed for 127\.0\.0\.1:\d+.*'ca_bundle'"):
        TapOracleWMS(config=config(base_url)).api.list_entities()
    assert time.monotonic() - started < 5  # eight retries of 1 s and more would take minutes


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_tap_verify_tls_false_wins_over_the_environment(https_server, monkeypatch, variable):
    base_url, _ = https_server
    monkeypatch.setenv(variable, certifi.where())
    tap = TapOracleWMS(config=config(base_url, verify_tls=False))
    assert tap.api.list_entities() == ["allocation"]
    assert tap.api.session.verify is False


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_tap_ca_bundle_wins_over_the_environment(https_server, monkeypatch, variable):
    base_url, cert = https_server
    monkeypatch.setenv(variable, certifi.where())
    assert TapOracleWMS(config=config(base_url, ca_bundle=str(cert))).api.list_entities() == ["allocation"]


def test_tap_environment_ca_bundle_used_by_default(https_server, monkeypatch):
    base_url, cert = https_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    tap = TapOracleWMS(config=config(base_url))
    assert tap.api.list_entities() == ["allocation"]
    # The streams' path (Session.send, which never reads the environment) uses the same answer.
    assert tap.api.session.verify == str(cert)


@pytest.mark.parametrize("secret", ["password", "oauth_client_secret"])
@pytest.mark.parametrize("value", [["hunter2-list"], {"nested": "hunter2-object"}])
def test_tap_secret_of_the_wrong_type_never_in_any_error(sim, make_config, tap_cli, secret, value):
    settings = make_config(sim, **{secret: value})
    if secret == "oauth_client_secret":
        settings.update(auth_method="oauth2", oauth_token_url=sim.token_url, oauth_client_id="c")
    result = tap_cli("--discover", config=settings)
    assert result.returncode == 1
    assert "hunter2" not in result.stderr and "hunter2" not in result.stdout
    assert f"Setting '{secret}' must be a string, got {type(value).__name__}" in result.stderr


def test_tap_unknown_setting_warned_by_name(sim, make_config, tap_cli):
    result = tap_cli("--discover", config=make_config(sim, page_sise=500))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Setting 'page_sise' is not a setting of tap-oracle-wms" in result.stderr


def test_tap_plain_http_to_another_host_warned():
    from tap_oracle_wms.settings import insecure_url_warning

    assert "unencrypted" in insecure_url_warning({"base_url": "http://wms.example.com/prod"})
    for url in ("http://127.0.0.1:8080/prod", "http://localhost/prod", "https://wms.example.com/prod"):
        assert insecure_url_warning({"base_url": url}) is None


def test_tap_start_date_later_than_now_warned_by_name(sim, make_config, tap_cli):
    # Every run read nothing, exit 0, and nothing said why (a mistyped year went unnoticed).
    config = make_config(sim, entities=["order_hdr"], start_date="2062-01-01T00:00:00+00:00")
    result = tap_cli(config=config)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not [line for line in result.stdout.splitlines() if '"RECORD"' in line]
    assert "Setting 'start_date' 2062-01-01T00:00:00+00:00 is later than now" in result.stderr
    past = tap_cli(config=make_config(sim, entities=["order_hdr"], start_date="2025-01-01T00:00:00+00:00"))
    assert "start_date" not in past.stderr


@pytest.mark.parametrize("content", ['{"base_url": "https://x/prod",', "[1, 2]"], ids=["truncated", "a list"])
def test_tap_malformed_config_file_is_one_line_naming_it(tmp_path, content):
    import sys

    path = tmp_path / "broken.json"
    path.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "tap_oracle_wms.tap", "--config", str(path), "--discover"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"config file {path}" in result.stderr
    assert result.stdout == ""


def test_tap_certificate_error_on_the_token_endpoint_fails_at_once(https_server):
    base_url, _ = https_server
    settings = config(
        base_url,
        auth_method="oauth2",
        oauth_token_url=f"{base_url}/oauth2/v1/token",
        oauth_client_id="client",
        oauth_client_secret="client-secret",
    )
    with pytest.raises(WmsTLSError, match=r"TLS certificate check failed for 127\.0\.0\.1"):
        TapOracleWMS(config=settings)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        # The SDK's reading: a traceback (int("abc")), a JSON error traceback, and a typo read as false
        # (TLS verification silently off).
        ("PAGE_SIZE", "abc", "(setting 'page_size') must be a whole number, got 'abc'"),
        ("BATCH_CONFIG", "gzip", "(setting 'batch_config') must be a JSON object, got 'gzip'"),
        ("VERIFY_TLS", "ture", "(setting 'verify_tls') must be one of true, 1, yes, on, false, 0, no, off"),
        ("READ_BACKDATED_ROWS", "nope", "(setting 'read_backdated_rows') must be one of"),
    ],
)
def test_tap_environment_setting_of_the_wrong_type_is_one_line_naming_it(
    sim, make_config, tap_cli, variable, value, message
):
    result = tap_cli(
        "--config",
        "ENV",
        config=make_config(sim, entities=["allocation"]),
        env={f"TAP_ORACLE_WMS_{variable}": value},
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"Environment variable TAP_ORACLE_WMS_{variable} {message}" in result.stderr
    assert result.stdout == ""


def test_tap_environment_settings_read_as_their_types(sim, make_config, tap_cli):
    # A number setting came through as text, which the schema refused ('60' is not of type 'number').
    env = {
        "TAP_ORACLE_WMS_REQUEST_TIMEOUT": "60",
        "TAP_ORACLE_WMS_PAGE_SIZE": "70",
        "TAP_ORACLE_WMS_ENTITIES": "allocation",
        "TAP_ORACLE_WMS_READ_BACKDATED_ROWS": "False",
    }
    config = make_config(sim, entities=["order_hdr"], page_size=100)
    result = tap_cli("--config", "ENV", config=config, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [line for line in result.stdout.splitlines() if '"type":"RECORD"' in line]
    assert len(records) == 300 and all('"stream":"allocation"' in line for line in records)
    pages = [r for r in sim.requests if r.path.endswith("/entity/allocation/")]
    assert {r.query["page_size"] for r in pages} == {"1", "70"}  # the ordering probe, the walk


def test_tap_environment_proxy_serves_every_request_of_an_origin(monkeypatch):
    """Proxies come from the environment (resolved once per origin, `WmsSession.proxies_for`)."""
    import requests
    from tap_oracle_wms.http import make_session

    seen: list[str] = []

    class Proxy(Handler):
        def do_GET(self) -> None:
            seen.append(self.path)  # a proxy is asked for the absolute URL
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    url = "http://wms.example.test/prod/wms/lgfapi/v10/entity/"
    try:
        session = make_session({})
        for _ in range(2):
            prepared = session.prepare_request(requests.Request("GET", url))
            assert session.send(prepared, timeout=10).json() == LISTING
        assert seen == [url, url]
        monkeypatch.setenv("NO_PROXY", "wms.example.test")
        assert make_session({}).proxies_for(prepared) == {}
    finally:
        server.shutdown()
