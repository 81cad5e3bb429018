"""Retry policy and pool set-up written against urllib3 1.26."""

import urllib3
from urllib3.util.retry import Retry


def check_retry_whitelist():
    retry = Retry(total=3, method_whitelist=frozenset(["GET", "PUT"]), backoff_factor=0.5)
    assert retry.total == 3


def check_default_whitelist_constant():
    assert "GET" in Retry.DEFAULT_METHOD_WHITELIST


def check_pool_manager():
    http = urllib3.PoolManager(num_pools=2, retries=Retry(total=1))
    assert http.connection_pool_kw["retries"].total == 1


def check_make_headers():
    headers = urllib3.make_headers(basic_auth="user:pw", user_agent="me")
    assert headers["user-agent"] == "me"
