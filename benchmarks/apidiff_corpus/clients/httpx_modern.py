"""An API client on httpx (served by an in-process transport)."""

import httpx


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"method": request.method})


def make_client() -> httpx.Client:
    return httpx.Client(
        transport=httpx.MockTransport(handler),
        base_url="http://api",
        timeout=httpx.Timeout(5.0),
        headers={"User-Agent": "me"},
    )


def check_get_and_post():
    with make_client() as client:
        assert client.get("/a", params={"x": 1}).json() == {"method": "GET"}
        response = client.post("/b", json={"y": 2})
        response.raise_for_status()
        assert response.status_code == 200


def check_errors():
    request = httpx.Request("GET", "http://api/x")
    error = httpx.HTTPStatusError("boom", request=request, response=httpx.Response(500))
    assert isinstance(error, httpx.HTTPError)
    assert httpx.URL("http://api/x").host == "api"
