"""Text from outside (uv, pytest, upstream messages, URLs) made safe to print.

``redact`` hides credentials in URLs; ``terminal`` strips escape sequences and
control characters so that upstream text cannot move the cursor, retitle the
terminal or hide lines. Markdown has its own escaping (``compat.markdown``).
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
# CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), other two-byte escapes, C1 controls.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|[\x80-\x9f]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def redact(text: str) -> str:
    """``https://user:secret@host/simple`` -> ``https://***@host/simple``."""
    return _USERINFO.sub(r"\1***@", text)


def terminal(text: str) -> str:
    """``text`` without escape sequences or control characters (newlines and tabs kept)."""
    text = _ESCAPES.sub("", text.replace("\r\n", "\n"))
    return _CONTROL.sub("", text.replace("\r", "\n"))


def safe(text: str) -> str:
    """Redacted and terminal-safe: what every printed line from outside goes through."""
    return terminal(redact(text))
