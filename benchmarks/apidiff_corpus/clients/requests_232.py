"""A small API client built on requests (requests are prepared, never sent)."""

import contextlib

import requests
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth


def make_session():
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=3, pool_maxsize=4))
    session.headers.update({"User-Agent": "me"})
    return session


def check_prepare_request():
    session = make_session()
    request = requests.Request("POST", "https://api.example.org/items", json={"a": 1})
    prepared = session.prepare_request(request)
    assert prepared.headers["Content-Type"] == "application/json"


def check_auth_and_errors():
    auth = HTTPBasicAuth("u", "p")
    prepared = requests.Request("GET", "https://x.org", auth=auth).prepare()
    assert prepared.headers["Authorization"].startswith("Basic ")
    assert issubclass(requests.exceptions.Timeout, requests.RequestException)


def check_response_object():
    response = requests.models.Response()
    response.status_code = 404
    with contextlib.suppress(requests.HTTPError):
        response.raise_for_status()
    assert not response.ok
