"""Redaction and normalisation of outside text: pure functions, tables of cases."""

from __future__ import annotations

import pytest

from compat.text import (
    Redactor,
    looks_secret,
    normalise,
    redact,
    safe,
    secret_values,
    terminal,
)


@pytest.mark.parametrize(
    "text, hidden, kept",
    [
        # URL userinfo, any scheme
        ("https://user:pw-1@host/simple", "pw-1", "https://***@host/simple"),
        ("postgresql://app:pw@db.internal/app", ":pw@", "postgresql://***@db.internal/app"),
        ("git+https://ghp_abcdef123@github.com/o/r", "ghp_abcdef123", "github.com/o/r"),
        ("redis://:s3cr3t@cache:6379/0", "s3cr3t", "redis://***@cache:6379/0"),
        # query-string (and fragment) secrets
        ("GET https://api.example/x?access_token=s3cr3t", "s3cr3t", "?access_token=***"),
        ("https://h/x?a=1&token=t0k3n&b=2", "t0k3n", "&token=***&b=2"),
        ("https://h/x?key=AIzaSyA-k&q=1", "AIzaSyA-k", "?key=***&q=1"),
        ("https://h/x?api_key=k3y", "k3y", "?api_key=***"),
        ("https://h/x?apikey=k3y", "k3y", "?apikey=***"),
        ("https://b.s3.amazonaws.com/f?X-Amz-Signature=abc123&X-Amz-Credential=AKIA/x",
         "abc123", "X-Amz-Signature=***&X-Amz-Credential=***"),
        ("https://a.blob.core.windows.net/c?sv=2020&sig=Zm9vYmFy%3D", "Zm9vYmFy", "&sig=***"),
        ("https://h/cb#access_token=frag-secret&state=1", "frag-secret", "#access_token=***"),
        ("https://h/login?password=hunter2&user=me", "hunter2", "?password=***&user=me"),
        ("https://h/x?client_secret=cs-9", "cs-9", "?client_secret=***"),
        # headers, as printed by HTTP clients and as Python reprs
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi", "Authorization: Bearer ***"),
        ("authorization: token ghp_xyz", "ghp_xyz", "authorization: token ***"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Proxy-Authorization: Basic ***"),
        ("{'Authorization': 'Bearer abc.def'}", "abc.def", "'Authorization': 'Bearer ***'"),
        ("Authorization: s3cr3tvalue", "s3cr3tvalue", "Authorization: ***"),
        ("X-Api-Key: k-123456", "k-123456", "X-Api-Key: ***"),
    ],
)  # fmt: skip
def test_patterns(text: str, hidden: str, kept: str) -> None:
    out = redact(text)
    assert hidden not in out and kept in out, out


@pytest.mark.parametrize(
    "text",
    [
        "https://pypi.org/simple/acme-sdk/?format=json",
        "ValueError: invalid key 'x' in mapping",
        "see https://docs.example/page#section",
        "monkeypatch.setattr(obj, 'token', 1)",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_redaction_is_stable() -> None:
    once = redact("https://u:p@h/?token=x Authorization: Bearer y")
    assert redact(once) == once


@pytest.mark.parametrize(
    "name, secret",
    [
        ("GITHUB_TOKEN", True), ("GH_PAT", True), ("MYSQL_PWD", True), ("GPG_PASSPHRASE", True),
        ("NPM_AUTH", True), ("AUTHORIZATION", True), ("AWS_SECRET_ACCESS_KEY", True),
        ("OPENAI_API_KEY", True), ("STRIPE_KEY", True), ("DB_PASSWORD", True),
        ("TWINE_PASSWORD", True), ("PYPI_APIKEY", True), ("ARTIFACTORY_CREDENTIALS", True),
        ("PATH", False), ("PWD", False), ("OLDPWD", False), ("HOME", False),
        ("PIP_KEYRING_PROVIDER", False), ("GIT_ASKPASS", False), ("SSH_AUTH_SOCK", False),
        ("XAUTHORITY", False), ("PYTHONPATH", False),
    ],
)  # fmt: skip
def test_which_variables_look_secret(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_secret_values_of_an_environment() -> None:
    env = {
        "GH_PAT": "ghp_0123456789",
        "MYSQL_PWD": "hunter2hunter2",
        "DATABASE_URL": "postgresql://app:p%40ssw0rd@db/app",  # the name says nothing
        "SHORT_TOKEN": "abc",  # too short to search for: it would match ordinary words
        "HOME": "/home/me",
    }
    values = secret_values(env)
    assert {"ghp_0123456789", "hunter2hunter2", "p%40ssw0rd", "p@ssw0rd"} <= set(values)
    assert "abc" not in values and "/home/me" not in values
    hide = Redactor(values)
    text = "connect(p@ssw0rd) failed; header ghp_0123456789; MYSQL_PWD=hunter2hunter2"
    assert hide(text) == "connect(***) failed; header ***; MYSQL_PWD=***"


def test_safe_hides_the_secrets_of_this_process(monkeypatch) -> None:
    monkeypatch.setenv("NPM_AUTH", "npm-auth-value-1")
    assert safe("token npm-auth-value-1 \x1b[2J") == "token *** "


@pytest.mark.parametrize(
    "text, one_line, expected",
    [
        ("a\x1b]0;owned\x07b\x1b[2Jc", False, "abc"),
        ("a\x1b]8;;https://evil\x1b\\link\x1b]8;;\x1b\\", False, "alink"),
        ("line1\r\nline2\rline3", False, "line1\nline2\nline3"),
        ("tab\tkept\x00\x08\x7f\x9b", False, "tab\tkept"),
        ("bad \udcff byte", False, "bad \ufffd byte"),
        ("lone \ud800", False, "lone \ufffd"),
        ("rtl \u202eevil\u202c \u2028x", False, "rtl evil \nx"),
        ("a\n b\t\tc", True, "a b c"),
    ],
)
def test_normalise(text: str, one_line: bool, expected: str) -> None:
    assert normalise(text, one_line=one_line) == expected
    normalise(text).encode("utf-8")  # never a UnicodeEncodeError


def test_normalise_bounds_and_terminal_keeps_lines() -> None:
    assert normalise("x" * 50, limit=10) == "x" * 9 + "…"
    assert terminal("one\ntwo\x1b[31m red") == "one\ntwo red"
