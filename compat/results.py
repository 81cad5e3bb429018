"""The result of a cell: its status, the typed record, and the store of records.

One JSON file per session in the results dir (``<session>.json``). Every record
read from disk — our own, a CI artifact, a committed docs JSON, a bisect answer — goes
through one reader (``Result.from_dict``, ``read_answer``), which checks every field: a
broken or hostile file is named and skipped, never a traceback, never a write outside the
results dir. A result built by a run is made storable once, by ``Result.redacted``
(credentials hidden, text normalised); ``save`` never fails on odd characters.
"""

from __future__ import annotations

import enum
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from compat.errors import CompatError
from compat.fileio import write_atomic
from compat.text import Redactor, map_text, normalise, safe, secret_values


def _exact(pattern: str) -> re.Pattern:
    """``pattern`` matching whole strings only (``$`` would let a trailing newline through)."""
    return re.compile(rf"\A(?:{pattern})\Z")


SCHEMA = 1
MAX_TEXT = 20_000  # characters kept of any free text (messages, log tails)
MAX_LINE = 2_000  # characters kept of one-line text (test ids, call sites, requirements)
MAX_ITEMS = 1_000  # entries kept of any list (failures, deprecations, freeze, notes)
MAX_COUNTS, MAX_COUNT = 50, 10**9  # kinds of test counts, and the largest count
MAX_INPUTS = 100_000  # paths a cell's tests read (``inputs``)
MAX_FILE = 20_000_000  # bytes: a larger record file is refused unread
# The grammar of each value that has one (all of it must match, a trailing newline too).
INTEGRATION_RE = _exact(r"[a-z0-9][a-z0-9_-]{0,49}")
LABEL_RE = _exact(r"min|max|latest|pre|\d+\.\d+|bisect-[A-Za-z0-9_.+!-]{1,60}")
PYTHON_RE = _exact(r"\d+\.\d+(\.\d+)?([A-Za-z0-9.+]{0,12})")
SESSION_RE = _exact(r"compat-[A-Za-z0-9_.+!-]{1,200}")
PACKAGE_RE = _exact(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")  # PEP 508 names
VERSION_RE = _exact(r"[A-Za-z0-9.+!_-]{1,100}")  # and PEP 440 (``Version`` checks)
SPECIFIER_RE = _exact(r"[A-Za-z0-9.*+!_<>=~, -]{0,500}")  # and ``SpecifierSet`` checks
DATE_RE = _exact(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?Z)?")
COUNT_RE = _exact(r"[a-z][a-z0-9_]{0,39}")
CATEGORY_RE = _exact(r"[^\W\d][\w.]{0,199}")  # a warning class's name
ATTRIBUTION_RE = _exact(r"usage|internal")
WORD_RE = _exact(r"[A-Za-z0-9_.-]{1,60}")
DIGEST_RE = _exact(r"[A-Za-z0-9:_.+-]{0,200}")  # a digest, a Python version, "absent"…
URL_RE = _exact(r"https?://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~!$&'*+,;=:@%/?-]*)?")
ANSWER_FIELDS = {
    "integration", "package", "python", "good", "bad", "found", "first_bad", "last_good",
    "skipped", "suspects", "failures", "cells", "notes_url", "problem", "unjudged", "nothing",
    "found_at", "direction", "first_good", "last_bad",
}  # fmt: skip


class Status(str, enum.Enum):
    """The verdict of one cell (DESIGN.md); "passing" and "incompatible" are decided here only."""

    PASSED = "passed"
    DEPRECATED = "deprecated"
    FAILED = "failed"
    INSTALL_FAILED = "install-failed"
    WRONG_VERSION = "wrong-version"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not-applicable"
    TIMEOUT = "timeout"
    ERROR = "error"
    FLAKY = "flaky"

    def __str__(self) -> str:
        return self.value

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]

    @property
    def passing(self) -> bool:
        """The upstream version works with the project."""
        return self in (Status.PASSED, Status.DEPRECATED)

    @property
    def incompatible(self) -> bool:
        """The upstream version breaks the project (inside the declared range: exit 1, issues)."""
        return self in (Status.FAILED, Status.INSTALL_FAILED, Status.WRONG_VERSION, Status.TIMEOUT)

    @property
    def judged(self) -> bool:
        """A verdict about the upstream; ``error`` is not one (the cause is on our side)."""
        return self is not Status.ERROR

    @property
    def deterministic(self) -> bool:
        """The same inputs give the same verdict, so a stored one may be reused (``flaky``
        never is: the next sweep runs it again)."""
        return self in (
            Status.PASSED,
            Status.DEPRECATED,
            Status.FAILED,
            Status.SKIPPED,
            Status.NOT_APPLICABLE,
        )

    @property
    def severity(self) -> int:
        """Higher is worse; the status of a group of cells is its worst one."""
        return _SEVERITY.index(self)


_SYMBOLS = {
    Status.PASSED: "✅",
    Status.DEPRECATED: "⚠️",
    Status.FAILED: "❌",
    Status.INSTALL_FAILED: "🚫",
    Status.WRONG_VERSION: "🚫",
    Status.SKIPPED: "⏭️",
    Status.NOT_APPLICABLE: "—",
    Status.TIMEOUT: "⏱️",
    Status.ERROR: "❗",
    Status.FLAKY: "🔁",
}
_SEVERITY = [
    Status.NOT_APPLICABLE,
    Status.PASSED,
    Status.DEPRECATED,
    Status.SKIPPED,
    Status.FLAKY,
    Status.ERROR,
    Status.TIMEOUT,
    Status.WRONG_VERSION,
    Status.INSTALL_FAILED,
    Status.FAILED,
]


class ResultError(CompatError):
    """A stored result that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Deprecation:
    category: str
    message: str
    source: str  # file:line of the call site
    attribution: str = "usage"  # "usage": your code calls it; "internal": upstream's own use

    @property
    def counts(self) -> bool:
        return self.attribution == "usage"


@dataclass(frozen=True)
class Failure:
    test: str
    message: str


@dataclass(frozen=True)
class Stale:
    """A later run that could not judge the cell (``error``); the verdict beside it is older."""

    message: str
    hint: str
    at: str


@dataclass(frozen=True)
class Observed:
    """The verdict a cell's own run gave, when reading the integration's cells together made
    it an ``error`` (``compat.attribution``); kept so that a later reading can give it back."""

    status: Status
    message: str
    hint: str


@dataclass
class Result:
    """What one cell run found (the JSON schema of DESIGN.md, typed)."""

    session: str
    integration: str
    label: str
    package: str
    requested: str
    python: str
    status: Status = Status.NOT_APPLICABLE
    installed: str | None = None
    tests: dict[str, int] = field(
        default_factory=lambda: {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    )
    deprecations: list[Deprecation] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    freeze: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    resolution: dict[str, str] = field(default_factory=dict)  # requirement group -> strategy
    started: str = ""
    duration_s: float = 0.0
    pytest_s: float | None = None
    message: str = ""
    hint: str = ""  # how to fix what made the cell an ``error``
    notes: list[str] = field(default_factory=list)  # things worth knowing that change nothing
    in_declared_range: bool = True
    declared: str = ""  # the declared specifier of the package for this Python ("" = none)
    log_tail: str = ""
    stale: Stale | None = None
    observed: Observed | None = None  # this error re-reads a run that gave this verdict
    key: dict[str, str] = field(default_factory=dict)  # see compat.inputs: known before the run
    inputs: dict[str, str] = field(default_factory=dict)  # what the tests read, by path
    network: list[str] = field(default_factory=list)  # non-loopback addresses the tests used
    reuses: int = 0  # how many sweeps kept this verdict since it last really ran (`started`)
    audit: str = ""  # "agreed" / "disagreed: …" when this run re-checked a reusable verdict
    snapshot: str = ""  # the --exclude-newer date the index was seen at
    schema: int = SCHEMA
    reused: bool = False  # not stored: this run kept the stored verdict (inputs unchanged)
    why: str = ""  # not stored: why this run ran the cell (or "unchanged")

    @property
    def python_xy(self) -> str:
        return python_xy(self.python)

    @property
    def version(self) -> Version:
        return Version(self.requested)

    @property
    def is_bisect(self) -> bool:
        return self.label.startswith("bisect-")

    @property
    def counts_against(self) -> bool:
        """Incompatible inside the declared range: exit 1, a [Compat] issue, a red integration."""
        return self.status.incompatible and self.in_declared_range

    @property
    def usage_deprecations(self) -> list[Deprecation]:
        return [d for d in self.deprecations if d.counts]

    @property
    def run_date(self) -> str:
        return self.started[:10]

    def redacted(self, env: Mapping[str, str] | None = None) -> Result:
        """This result as it may be stored and shown: credentials hidden in every free-text
        field (``compat.text.Redactor``, with the secrets of ``env``) and all text normalised."""
        hide = Redactor(secret_values(env or {}))
        return map_text(self, lambda text: hide(normalise(text)), keep=IDENTITY)

    def summary(self) -> str:
        """Console lines: the session, its verdict, the installed version, the test counts."""
        counts = self.tests
        text = (
            f"{self.session}: {self.status} — {self.package} {self.installed or self.requested} "
            f"on Python {self.python}; {counts.get('passed', 0)} passed, "
            f"{counts.get('failed', 0)} failed, {counts.get('skipped', 0)} skipped, "
            f"{counts.get('errors', 0)} errors"
        )
        if self.message:
            text += f" ({self.message})"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        if not self.in_declared_range:
            text += f"\n  beyond declared support ({self.package}{self.declared})"
        return safe(text)

    def to_dict(self, *, public: bool = False) -> dict[str, Any]:
        """The JSON record; ``public`` leaves out what differs between identical runs."""
        data = asdict(self)
        data.pop("reused")
        data.pop("why")
        data["status"] = self.status.value
        if public:
            for key in ("freeze", "log_tail", "duration_s", "pytest_s"):
                data.pop(key)
            data["started"] = self.run_date
        return data

    @classmethod
    def from_dict(cls, data: Any, origin: str = "result") -> Result:
        """A checked record; raises ``ResultError`` naming ``origin`` and the bad field."""
        return _Reader(origin).result(data)


# The fields that name a result and its inputs: checked by the reader, never redacted.
IDENTITY = (
    "session", "integration", "label", "package", "requested", "python", "installed",
    "status", "started", "declared", "key", "snapshot",
)  # fmt: skip


def python_xy(python: str) -> str:
    """``3.12`` from ``3.12.1`` (results hold the full version once the cell ran)."""
    return ".".join(python.split(".")[:2])


def session_name(integration: str, label: str, python: str) -> str:
    return f"compat-{integration}-{label}-{python_xy(python)}"


class _Reader:
    """Field-by-field checks of a record read from JSON (README: "Records from outside").

    Names, versions, dates and other values with a grammar are checked against it (``fullmatch``:
    a trailing newline is not a match) and a record that breaks one is refused, naming the
    field. Free text (messages, hints, notes, log tails, failure and deprecation messages) is
    kept, normalised (``compat.text.normalise``: lone surrogates replaced, escapes and control
    characters removed, newlines and tabs kept) and bounded; short free text that is one line
    by nature (test ids, call sites, requirements) is made one line.
    """

    def __init__(self, origin: str, within: str = "") -> None:
        self.origin, self.within = origin, within  # within: "failures[2]." for a nested record

    def fail(self, key: str, what: str) -> ResultError:
        message = f"{self.origin}: {self.within}{key}: {what}"
        return ResultError(normalise(message, one_line=True, limit=400))

    def nested(self, data: dict, key: str) -> list[tuple[_Reader, dict]]:
        """The records of the list ``key``, each with a reader that names it."""
        return [
            (_Reader(self.origin, f"{self.within}{key}[{index}]."), item)
            for index, item in enumerate(self.records(data, key))
        ]

    def string(self, data: dict, key: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            raise self.fail(
                key, "missing" if value is None else f"expected a string, got {value!r}"[:120]
            )
        return value

    def text(
        self, data: dict, key: str, default: str | None = None, *, one_line: bool = False
    ) -> str:
        """Free text, normalised and bounded."""
        value = self.string(data, key, default)
        limit = MAX_LINE if one_line else MAX_TEXT
        return normalise(value[: limit * 2], one_line=one_line, limit=limit)

    def value(self, data: dict, key: str, pattern: re.Pattern, default: str | None = None) -> str:
        """A value with a grammar: refused unless all of it matches ``pattern``."""
        value = self.string(data, key, default)
        if not pattern.fullmatch(value):
            raise self.fail(key, f"not a valid value: {value[:80]!r}")
        return value

    def version(self, data: dict, key: str, default: str | None = None) -> str:
        value = self.string(data, key, default)
        try:
            if VERSION_RE.fullmatch(value):
                Version(value)
                return value
        except InvalidVersion:
            pass
        raise self.fail(key, f"not a version: {value[:80]!r}")

    def result(self, data: Any) -> Result:
        if not isinstance(data, dict):
            raise ResultError(f"{self.origin}: not a result (expected a JSON object)")
        schema = data.get("schema")
        if schema != SCHEMA:
            raise self.fail("schema", f"unknown schema {schema!r} (this nox-compat reads {SCHEMA})")
        known = {f.name for f in fields(Result)}
        data = {k: v for k, v in data.items() if k in known}  # newer optional fields: ignored
        integration = self.value(data, "integration", INTEGRATION_RE)
        label = self.value(data, "label", LABEL_RE)
        python = self.value(data, "python", PYTHON_RE)
        session = self.value(data, "session", SESSION_RE)
        if session != session_name(integration, label, python):
            raise self.fail(
                "session",
                f"{session[:80]!r} does not match its integration, label and python",
            )
        status = self.status(data)
        tests = data.get("tests", {})
        if (
            not isinstance(tests, dict)
            or len(tests) > MAX_COUNTS
            or not all(
                isinstance(k, str) and COUNT_RE.fullmatch(k) and _count(v) for k, v in tests.items()
            )
        ):
            raise self.fail("tests", "expected counts of tests")
        return Result(
            session=session,
            integration=integration,
            label=label,
            package=self.value(data, "package", PACKAGE_RE),
            requested=self.version(data, "requested"),
            python=python,
            status=status,
            installed=self.version(data, "installed")
            if data.get("installed") is not None
            else None,
            tests={"passed": 0, "failed": 0, "skipped": 0, "errors": 0, **tests},
            deprecations=[
                Deprecation(
                    read.value(d, "category", CATEGORY_RE),
                    read.text(d, "message"),
                    read.text(d, "source", "", one_line=True),
                    read.value(d, "attribution", ATTRIBUTION_RE, "usage"),
                )
                for read, d in self.nested(data, "deprecations")
            ],
            failures=[
                Failure(read.text(f, "test", one_line=True), read.text(f, "message", ""))
                for read, f in self.nested(data, "failures")
            ],
            freeze=self.strings(data, "freeze"),
            requirements=self.strings(data, "requirements"),
            resolution=self.mapping(data, "resolution"),
            started=self.value(data, "started", DATE_RE) if data.get("started") else "",
            duration_s=self.number(data, "duration_s", 0.0),
            pytest_s=self.number(data, "pytest_s", None),
            message=self.text(data, "message", ""),
            hint=self.text(data, "hint", ""),
            notes=self.strings(data, "notes", one_line=False),
            in_declared_range=self.flag(data, "in_declared_range", True),
            declared=self.specifier(data, "declared"),
            log_tail=self.text(data, "log_tail", ""),
            stale=self.stale(data.get("stale")),
            observed=self.observed(data.get("observed")),
            key=self.mapping(data, "key", DIGEST_RE),
            inputs=self.digests(data, "inputs"),
            network=self.strings(data, "network"),
            reuses=self.count(data, "reuses"),
            audit=self.text(data, "audit", "", one_line=True),
            snapshot=self.value(data, "snapshot", DATE_RE) if data.get("snapshot") else "",
        )

    def stale(self, value: Any) -> Stale | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail("stale", "expected an object")
        read = _Reader(self.origin, f"{self.within}stale.")
        return Stale(
            read.text(value, "message", ""),
            read.text(value, "hint", ""),
            read.value(value, "at", DATE_RE) if value.get("at") else "",
        )

    def specifier(self, data: dict, key: str) -> str:
        value = self.value(data, key, SPECIFIER_RE, "")
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            raise self.fail(key, f"not a version specifier: {value[:80]!r}") from None
        return value

    def observed(self, value: Any) -> Observed | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail("observed", "expected an object")
        try:
            status = Status(value.get("status"))
        except ValueError:
            raise self.fail("observed", f"unknown status {value.get('status')!r}"[:120]) from None
        return Observed(status, self.text(value, "message", ""), self.text(value, "hint", ""))

    def records(self, data: dict, key: str) -> list[dict]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "expected a list of objects")
        return value[:MAX_ITEMS]

    def strings(self, data: dict, key: str, *, one_line: bool = True) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "expected a list of strings")
        return [self.text({key: v}, key, one_line=one_line) for v in value[:MAX_ITEMS]]

    def mapping(self, data: dict, key: str, values: re.Pattern = WORD_RE) -> dict[str, str]:
        """Names (``WORD_RE``) to values with a grammar."""
        value = data.get(key, {})
        if not isinstance(value, dict) or len(value) > MAX_COUNTS:
            raise self.fail(key, "expected an object of strings")
        for k, v in value.items():
            if not (isinstance(v, str) and WORD_RE.fullmatch(k) and values.fullmatch(v)):
                raise self.fail(key, f"not a valid entry: {str(k)[:40]!r}: {str(v)[:40]!r}")
        return dict(value)

    def digests(self, data: dict, key: str) -> dict[str, str]:
        """Paths (one-line text) to digests: what the tests read."""
        value = data.get(key, {})
        if not isinstance(value, dict) or len(value) > MAX_INPUTS:
            raise self.fail(key, "expected an object of paths and digests")
        for k, v in value.items():
            if not (isinstance(v, str) and DIGEST_RE.fullmatch(v)):
                raise self.fail(key, f"not a digest: {str(k)[:40]!r}: {str(v)[:40]!r}")
        return {self.text({key: k}, key, one_line=True): v for k, v in value.items()}

    def number(self, data: dict, key: str, default: float | None) -> float | None:
        value = data.get(key, default)
        if value is None or (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value >= 0
        ):
            return value
        raise self.fail(key, f"expected a number of seconds, got {value!r}"[:120])

    def count(self, data: dict, key: str) -> int:
        value = data.get(key, 0)
        if not _count(value):
            raise self.fail(key, f"expected a count, got {value!r}"[:120])
        return value

    def flag(self, data: dict, key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}"[:120])
        return value

    def answer(self, data: Any) -> dict[str, Any]:
        """The fields of a stored bisect answer (``compat.bisect.Answer``), checked."""
        if not isinstance(data, dict):
            raise ResultError(f"{self.origin}: not a bisect answer")
        data = {k: v for k, v in data.items() if k in ANSWER_FIELDS}
        maybe = {
            key: self.version(data, key) if data.get(key) is not None else None
            for key in ("first_bad", "last_good", "first_good", "last_bad")
        }
        direction = data.get("direction", "first-bad")
        if direction not in ("first-bad", "first-good"):
            raise self.fail(
                "direction", f"expected first-bad or first-good, got {direction!r}"[:120]
            )
        return {
            "integration": self.value(data, "integration", INTEGRATION_RE),
            "package": self.value(data, "package", PACKAGE_RE),
            "python": self.value(data, "python", PYTHON_RE),
            "good": self.version(data, "good"),
            "bad": self.version(data, "bad"),
            "found": self.flag(data, "found", False),
            **maybe,
            "skipped": self.versions(data, "skipped"),
            "suspects": self.versions(data, "suspects"),
            "failures": [
                {
                    "test": self.text(f, "test", one_line=True),
                    "message": self.text(f, "message", ""),
                }
                for f in self.records(data, "failures")
            ],
            "cells": [
                {
                    "session": self.value(c, "session", SESSION_RE),
                    "version": self.version(c, "version"),
                    "status": self.status(c).value,
                }
                for c in self.records(data, "cells")
            ],
            "notes_url": (
                self.value(data, "notes_url", URL_RE) if data.get("notes_url") is not None else None
            ),
            "problem": self.text(data, "problem") if data.get("problem") is not None else None,
            "unjudged": self.flag(data, "unjudged", False),
            "nothing": self.flag(data, "nothing", False),
            "found_at": self.value(data, "found_at", DATE_RE) if data.get("found_at") else "",
            "direction": direction,
        }

    def versions(self, data: dict, key: str) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, "expected a list of versions")
        return [self.version({key: v}, key) for v in value[:MAX_ITEMS]]

    def status(self, data: dict) -> Status:
        try:
            return Status(data.get("status"))
        except ValueError:
            raise self.fail("status", f"unknown status {data.get('status')!r}"[:120]) from None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def read_answer(data: Any, origin: str) -> dict[str, Any]:
    """The checked fields of a bisect answer read from ``origin``; ``ResultError`` otherwise."""
    return _Reader(origin).answer(data)


# -- the store -----------------------------------------------------------------------------


@dataclass
class Loaded:
    """Results by session (the newest of each) and the files that could not be used."""

    results: dict[str, Result] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, result: Result) -> bool:
        """Keep ``result`` when it is newer than the one stored for its session."""
        current = self.results.get(result.session)
        if current is None or _newer(result, current):
            self.results[result.session] = result
            return True
        return False


def _newer(new: Result, old: Result) -> bool:
    """Newest wins; an ``error`` never replaces a judged verdict of the same version (but
    one that re-reads a run, ``observed``, is that run's verdict)."""
    if new.started < old.started:
        return False
    return (
        new.status.judged
        or new.observed is not None
        or not old.status.judged
        or new.requested != old.requested
    )


class StoreError(CompatError):
    """The results cannot be written where the matrix says; nothing was run."""


def ensure_writable(folder: Path) -> None:
    """Fail before any cell runs when ``folder`` cannot hold results."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StoreError(
            f"{folder}: cannot write results there ({exc.strerror or exc}); nothing was run"
        ) from None


def result_path(results_dir: Path, session: str) -> Path:
    return results_dir / f"{session}.json"


def save(result: Result, results_dir: Path) -> Path:
    """Store ``result``; an ``error`` beside a judged verdict of the same version marks it stale."""
    path = result_path(results_dir, result.session)
    stored = result
    if not result.status.judged and result.observed is None and path.exists():
        try:
            old = read(path)
        except ResultError:
            old = None
        if old is not None and old.status.judged and old.requested == result.requested:
            stored = replace(old, stale=Stale(result.message, result.hint, result.started))
    data = map_text(stored.to_dict(), normalise)  # no lone surrogate can fail the write
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def read(path: Path) -> Result:
    """One stored result; ``ResultError`` names the file when it cannot be used."""
    try:
        if path.stat().st_size > MAX_FILE:
            raise ResultError(f"{path}: larger than {MAX_FILE // 1_000_000} MB: not a result")
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ResultError(f"{path}: not UTF-8 text") from None
    except ValueError as exc:
        raise ResultError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise ResultError(f"{path}: cannot read ({exc.strerror})") from None
    return Result.from_dict(data, str(path))


def is_result_file(path: Path) -> bool:
    """Result files are ``<session>.json``; bisect answers and other files live beside them."""
    return path.suffix == ".json" and path.name.startswith("compat-") and path.is_file()


def load_all(results_dir: Path) -> Loaded:
    """Every stored result by session, the newest winning; sub-folders (CI artifacts) too."""
    loaded = Loaded()
    if not results_dir.is_dir():
        return loaded
    for path in sorted(results_dir.rglob("*.json")):
        if not is_result_file(path):
            continue
        try:
            loaded.add(read(path))
        except ResultError as exc:
            loaded.problems.append(str(exc))
    return loaded


def merge(sources: list[Path], results_dir: Path) -> Loaded:
    """Copy results produced elsewhere (untrusted CI artifacts) into the store, newest winning.

    Every record is checked first; it is written only as ``<results_dir>/<session>.json``
    under its validated session name. Returns the records taken and the files refused.
    """
    stored = load_all(results_dir)
    taken = Loaded(problems=list(stored.problems))
    for source in sources:
        if not source.exists():
            taken.problems.append(f"{source}: no such file or folder")
            continue
        files = [source] if source.is_file() else sorted(source.rglob("*.json"))
        for path in files:
            if path.name.endswith(".answer.json"):
                continue
            try:
                result = read(path)
            except ResultError as exc:
                taken.problems.append(str(exc))
                continue
            if stored.add(result):
                save(result, results_dir)
                taken.results[result.session] = result
    return taken


def read_docs_json(path: Path) -> Loaded:
    """The verdicts a committed docs JSON holds (``integrations.*.cells``), checked like any."""
    known = Loaded()
    if not path.is_file():
        return known
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        known.problems.append(f"{path}: not readable JSON ({exc})")
        return known
    integrations = data.get("integrations") if isinstance(data, dict) else None
    if not isinstance(integrations, dict):
        known.problems.append(f"{path}: not a nox-compat docs JSON (no integrations)")
        return known
    for name, entry in integrations.items():
        cells = entry.get("cells", []) if isinstance(entry, dict) else None
        if not isinstance(cells, list):
            known.problems.append(f"{path}: integrations.{name}.cells: expected a list")
            continue
        for index, cell in enumerate(cells):
            try:
                known.add(Result.from_dict(cell, f"{path}: integrations.{name}.cells[{index}]"))
            except ResultError as exc:
                known.problems.append(str(exc))
    return known
