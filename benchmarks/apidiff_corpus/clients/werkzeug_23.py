"""URL and password helpers of a web app, written for Werkzeug 2.3."""

from werkzeug.security import check_password_hash, generate_password_hash


def check_passwords():
    hashed = generate_password_hash("secret")
    assert check_password_hash(hashed, "secret")


def check_url_quote():
    from werkzeug.urls import url_quote

    assert url_quote("a b") == "a%20b"


def check_url_parse():
    from werkzeug.urls import url_parse

    assert url_parse("http://x.org/p?q=1").host == "x.org"


def check_test_client():
    from werkzeug.test import Client
    from werkzeug.wrappers import Request, Response

    @Request.application
    def app(request):
        return Response(f"hi {request.args.get('n')}")

    assert Client(app).get("/?n=1").get_data(as_text=True) == "hi 1"
