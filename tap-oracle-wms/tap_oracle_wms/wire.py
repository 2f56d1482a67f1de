"""HTTP pieces free of the Singer SDK, shared by the streams, `WmsApi` and the quick discovery
(`tap_oracle_wms.quick`): the session, the JSON decoder and the API's URLs."""

from __future__ import annotations

import decimal
import typing as t

import msgspec
import requests


def json_decoder(kind: t.Any = t.Any) -> msgspec.json.Decoder:
    """A msgspec JSON decoder into `kind`; JSON floats become Decimal, so quantities keep every digit
    from the wire on."""
    return msgspec.json.Decoder(kind, float_hook=decimal.Decimal)


def make_session(config: t.Mapping[str, t.Any]) -> requests.Session:
    """A session with TLS verification on (or the configured CA bundle)."""
    session = requests.Session()
    session.verify = config.get("ca_bundle") or bool(config.get("verify_tls", True))
    session.headers["Accept"] = "application/json"
    return session


def api_root(config: t.Mapping[str, t.Any]) -> str:
    """`{base_url}/wms/lgfapi/{api_version}`."""
    return f"{str(config['base_url']).rstrip('/')}/wms/lgfapi/{config.get('api_version', 'v10')}"


def entity_url(root: str, entity: str = "") -> str:
    """`{root}/entity/{entity}/` (the list of entities without `entity`)."""
    return f"{root}/entity/{entity}/" if entity else f"{root}/entity/"


def describe_url(root: str, entity: str) -> str:
    """The URL of `entity`'s describe."""
    return f"{entity_url(root, entity)}describe/"
