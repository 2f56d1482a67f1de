"""Backoff: exponential, capped, jittered upwards only, never shorter than Retry-After."""

from __future__ import annotations

import requests
from singer_sdk.exceptions import RetriableAPIError
from tap_oracle_wms.http import RetryPolicy, retry_after_seconds


def failure(retry_after: str | None = None) -> RetriableAPIError:
    response = requests.Response()
    response.status_code = 429
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return RetriableAPIError("429", response)


def waits(policy: RetryPolicy, failures: list) -> list[float]:
    gen = policy.wait_gen()
    gen.send(None)
    return [gen.send(exc) for exc in failures]


def test_tap_backoff_doubles_up_to_cap():
    policy = RetryPolicy(max_retries=8, base=1.0, cap=60.0)
    assert waits(policy, [failure()] * 8) == [1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.max_tries == 9


def test_tap_retry_after_wins_when_longer():
    policy = RetryPolicy(max_retries=3, base=1.0, cap=60.0)
    assert waits(policy, [failure("30"), failure("0"), ConnectionResetError()]) == [30, 2, 4]


def test_tap_retry_after_http_date_and_garbage():
    assert retry_after_seconds(failure("Wed, 21 Oct 2015 07:28:00 GMT").response) == 0.0
    assert retry_after_seconds(failure("soon").response) is None
    assert retry_after_seconds(failure().response) is None


def test_tap_jitter_only_adds():
    for _ in range(100):
        assert 10.0 <= RetryPolicy.jitter(10.0) <= 12.5
