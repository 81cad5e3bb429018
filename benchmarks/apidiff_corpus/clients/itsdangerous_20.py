"""Signed tokens for password reset links, written for itsdangerous 2.0."""

import contextlib

from itsdangerous import BadSignature, URLSafeTimedSerializer


def check_url_safe_timed():
    s = URLSafeTimedSerializer("secret", salt="reset")
    token = s.dumps({"user": 1})
    assert s.loads(token, max_age=60) == {"user": 1}
    with contextlib.suppress(BadSignature):
        s.loads(token + "x")


def check_jws():
    from itsdangerous import TimedJSONWebSignatureSerializer

    s = TimedJSONWebSignatureSerializer("secret", expires_in=60)
    assert s.loads(s.dumps({"a": 1})) == {"a": 1}


def check_json_module():
    from itsdangerous import json as it_json

    assert it_json.dumps({"a": 1})
