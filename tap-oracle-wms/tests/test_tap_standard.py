"""The SDK's standard tap tests, against a simulator started for this module."""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class
from tap_oracle_wms.tap import TapOracleWMS
from wms_simulator.server import WmsSimulator

# get_tap_test_class discovers streams when the class is built (at import), so the simulator must
# already be serving then; it is stopped when the test process exits.
_SIM = WmsSimulator(sizes={"allocation": 200, "order_dtl": 80, "order_hdr": 20, "item": 20}).start()
atexit.register(_SIM.stop)

TestTapOracleWMS = get_tap_test_class(
    TapOracleWMS,
    config={
        "base_url": _SIM.base_url,
        "username": _SIM.username,
        "password": _SIM.password,
        "entities": ["allocation", "order_hdr", "order_dtl", "facility"],
        "page_size": 100,
    },
)
