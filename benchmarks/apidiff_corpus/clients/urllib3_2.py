"""Pool and retry set-up for urllib3 2."""

import urllib3
from urllib3.util import Retry, Timeout


def check_retry():
    retry = Retry(total=3, allowed_methods={"GET"}, backoff_factor=0.1, status_forcelist=[502])
    assert retry.is_retry("GET", 502)
    assert retry.new(total=1).total == 1


def check_pool():
    http = urllib3.PoolManager(timeout=Timeout(connect=1.0, read=2.0), retries=False)
    assert http.connection_pool_kw["timeout"].connect_timeout == 1.0
    assert urllib3.util.parse_url("https://x.org:8443/p").port == 8443
