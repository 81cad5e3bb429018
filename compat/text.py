"""Text from outside (uv, pytest, upstream messages, URLs, records) made safe to keep and print.

- ``normalise``: what every stored text is — valid Unicode (lone surrogates, as
  ``os.fsdecode`` makes of undecodable bytes, become U+FFFD), no escape sequences or control
  characters (newlines and tabs kept unless one line is wanted), bounded in length.
- ``redact``: credentials hidden — URL userinfo, secret query parameters, ``Authorization``
  headers, and the literal values of secret-looking environment variables (``Redactor``).
- ``terminal`` / ``safe``: what is printed (``safe`` redacts with the environment's secrets).

Markdown has its own escaping (``compat.markdown``), built on ``normalise``.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar
from urllib.parse import unquote

T = TypeVar("T")

MIN_SECRET = 6  # shorter values of secret variables would match ordinary words
_HIDDEN = "***"

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")
# A query (or fragment) parameter whose name says it holds a secret: ?access_token=…, &sig=…
_PARAM = re.compile(
    r"(?i)([?&#;]\s*(?:[\w.-]*(?:token|key|secret|passw|pwd|signature|credential|auth)[\w.-]*"
    r"|sig|code)=)[^&#\s\"'<>]+"
)
# Authorization: Bearer …, Proxy-Authorization: Basic …, 'Authorization': 'token …' (a repr)
_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|private-token|x-auth-token)(['\"]?\s*[:=]\s*['\"]?)"
    r"(?:(bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256)\s+)?[^\s'\",;]+"
)
# Names of variables that hold secrets: one of these words as a part of the name.
_SECRET_PART = re.compile(
    r"(?i)(?:^|_)(token|tokens|secret|secrets|password|passwd|pass|pwd|passphrase|pat|auth"
    r"|authorization|credential|credentials|apikey|key|keys)(?:_|$)"
)
_NOT_SECRET = {"PWD", "OLDPWD", "SSH_AUTH_SOCK"}  # paths, not secrets

# CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), other two-byte escapes, C1 controls.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|[\x80-\x9f]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Characters that change the direction or visibility of text around them.
_INVISIBLE = re.compile(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_LINE_ENDS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"})


# -- normalising -------------------------------------------------------------------------------


def normalise(text: str, *, one_line: bool = False, limit: int | None = None) -> str:
    """``text`` as it may be stored: valid Unicode, no escapes or control characters.

    Lone surrogates become U+FFFD; ``\\r\\n``, ``\\r`` and Unicode line separators become
    ``\\n``; bidirectional overrides are removed; newlines and tabs
    are kept unless ``one_line`` (then all whitespace runs become one space); ``limit`` cuts.
    """
    text = _SURROGATE.sub("\ufffd", str(text))
    text = _ESCAPES.sub("", text.replace("\r\n", "\n").translate(_LINE_ENDS))
    text = _INVISIBLE.sub("", _CONTROL.sub("", text))
    if one_line:
        text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def terminal(text: str) -> str:
    """``text`` without escape sequences or control characters (newlines and tabs kept)."""
    return normalise(text)


def map_text(value: T, change: Callable[[str], str], keep: Iterable[str] = ()) -> T:
    """``value`` with ``change`` applied to every string in it: dataclasses (a copy, fields
    named in ``keep`` left alone), lists, tuples, dict keys and values. Enums stay as they are."""
    if isinstance(value, enum.Enum):
        return value
    if isinstance(value, str):
        return change(value)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kept = set(keep)
        changes = {
            f.name: map_text(getattr(value, f.name), change)
            for f in dataclasses.fields(value)
            if f.name not in kept and f.init
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, list):
        return [map_text(v, change) for v in value]  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(map_text(v, change) for v in value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {map_text(k, change): map_text(v, change) for k, v in value.items()}  # type: ignore[return-value]
    return value


# -- redacting ---------------------------------------------------------------------------------


def looks_secret(name: str) -> bool:
    """A variable whose name says it holds a secret (``GH_PAT``, ``MYSQL_PWD``, ``NPM_AUTH``…)."""
    return name.upper() not in _NOT_SECRET and bool(_SECRET_PART.search(name))


def secret_values(env: Mapping[str, str]) -> list[str]:
    """What to hide of ``env``: the values of secret-looking variables, and the passwords of
    URLs with credentials in any variable (as written and percent-decoded)."""
    found: set[str] = set()
    for name, value in env.items():
        if looks_secret(name):
            found.add(value)
        for match in re.finditer(r"(?i)\b[a-z][a-z0-9+.-]*://([^/\s@?#]+)@", value):
            user, _, password = match.group(1).partition(":")
            found.update((password, unquote(password)) if password else (user, unquote(user)))
    return sorted((v for v in found if len(v) >= MIN_SECRET), key=len, reverse=True)


class Redactor:
    """Hides credentials in text: the patterns, and the literal ``secrets`` given."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        self.literal = re.compile("|".join(map(re.escape, values))) if values else None

    def __call__(self, text: str) -> str:
        if self.literal is not None:
            text = self.literal.sub(_HIDDEN, text)
        text = _USERINFO.sub(rf"\1{_HIDDEN}@", text)
        text = _PARAM.sub(rf"\1{_HIDDEN}", text)
        return _HEADER.sub(lambda m: f"{m[1]}{m[2]}{m[3] + ' ' if m[3] else ''}{_HIDDEN}", text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``https://user:pw@host/simple?token=x`` -> ``https://***@host/simple?token=***``;
    ``secrets``: literal values to hide as well."""
    return Redactor(secrets)(text)


_environment: tuple[tuple[str, ...], Redactor] | None = None


def environment_redactor(env: Mapping[str, str] | None = None) -> Redactor:
    """A ``Redactor`` for the secrets of ``env`` (default: this process's environment)."""
    global _environment
    values = tuple(secret_values(os.environ if env is None else env))
    if _environment is None or _environment[0] != values:
        _environment = (values, Redactor(values))
    return _environment[1]


def safe(text: str) -> str:
    """Redacted (the environment's secrets too) and terminal-safe: every printed line from
    outside goes through it."""
    return terminal(environment_redactor()(str(text)))
