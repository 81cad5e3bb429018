"""An HTTP wrapper built on httpx 0.27 (requests served by an in-process transport)."""

import httpx


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"path": request.url.path})


def check_mock_transport():
    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://api") as client:
        assert client.get("/ping").json() == {"path": "/ping"}


def check_proxies_argument():
    client = httpx.Client(proxies="http://127.0.0.1:3128")
    client.close()


def check_wsgi_app_argument():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    with httpx.Client(app=app, base_url="http://test") as client:
        assert client.get("/").text == "hello"


def check_timeout_and_url():
    timeout = httpx.Timeout(5.0, connect=2.0)
    assert timeout.connect == 2.0
    assert httpx.URL("https://example.org/a?b=1").params["b"] == "1"
