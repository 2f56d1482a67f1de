"""Basic auth, OAuth2 bearer tokens (grants, expiry), 401 and 403 with the error body."""

from __future__ import annotations

import time

import requests

ERROR_KEYS = {"reference", "code", "message", "details"}


def entity_url(sim):
    return f"{sim.api_url}/entity/order_hdr/"


def test_basic_auth_good_bad_missing(wms_sim):
    url = entity_url(wms_sim)
    assert requests.get(url, auth=("wms", "wms-secret"), timeout=5).status_code == 200
    for auth in (("wms", "wrong"), ("other", "wms-secret"), None):
        r = requests.get(url, auth=auth, timeout=5)
        assert r.status_code == 401
        assert set(r.json()) == ERROR_KEYS
    assert "wrong" not in requests.get(url, auth=("wms", "wrong"), timeout=5).text


def test_forbidden_user_gets_403(wms_sim_factory):
    sim = wms_sim_factory(users={"viewer": "pw"}, forbidden_users=["viewer"])
    r = requests.get(entity_url(sim), auth=("viewer", "pw"), timeout=5)
    assert r.status_code == 403 and set(r.json()) == ERROR_KEYS


def test_client_credentials_token_via_basic_and_form(wms_sim):
    r = requests.post(
        wms_sim.token_url,
        data={"grant_type": "client_credentials", "scope": "urn:x"},
        auth=("wms-client", "wms-client-secret"),
        timeout=5,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "urn:x"
    ok = requests.get(
        entity_url(wms_sim), headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=5
    )
    assert ok.status_code == 200
    form = requests.post(
        wms_sim.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": "wms-client",
            "client_secret": "wms-client-secret",
        },
        timeout=5,
    )
    assert form.status_code == 200


def test_password_grant_and_errors(wms_sim):
    client = ("wms-client", "wms-client-secret")
    good = {"grant_type": "password", "username": "wms", "password": "wms-secret"}
    assert requests.post(wms_sim.token_url, data=good, auth=client, timeout=5).status_code == 200
    bad_user = requests.post(wms_sim.token_url, data={**good, "password": "x"}, auth=client, timeout=5)
    assert bad_user.status_code == 400 and bad_user.json()["error"] == "invalid_grant"
    bad_client = requests.post(wms_sim.token_url, data=good, auth=("wms-client", "nope"), timeout=5)
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
    grant = requests.post(wms_sim.token_url, data={"grant_type": "implicit"}, auth=client, timeout=5)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


def test_bad_and_expired_tokens_are_401(wms_sim_factory):
    sim = wms_sim_factory(token_ttl=0.3)
    token = requests.post(
        sim.token_url,
        data={"grant_type": "client_credentials"},
        auth=(sim.client_id, sim.client_secret),
        timeout=5,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(entity_url(sim), headers=headers, timeout=5).status_code == 200
    time.sleep(0.35)
    r = requests.get(entity_url(sim), headers=headers, timeout=5)
    assert r.status_code == 401 and r.json()["message"] == "Token has expired."
    r = requests.get(entity_url(sim), headers={"Authorization": "Bearer forged"}, timeout=5)
    assert r.status_code == 401 and set(r.json()) == ERROR_KEYS


def test_expire_tokens_now(wms_sim):
    token = requests.post(
        wms_sim.token_url,
        data={"grant_type": "client_credentials"},
        auth=("wms-client", "wms-client-secret"),
        timeout=5,
    ).json()["access_token"]
    wms_sim.expire_tokens()
    r = requests.get(entity_url(wms_sim), headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert r.status_code == 401
