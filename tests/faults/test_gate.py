"""Fault injection: one gate in, one gate out. Every field of a result, and every field of the
records inside it, is given hostile values in a CI artifact; the record is either refused by
the reader (naming the field) or rendered inert through every output: the docs page (parsed
by a real GFM parser), the JSON, issue and pull-request bodies, metadata blocks, the notices
module and the terminal. A later ``compat report`` always still works."""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import re
import typing
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from test_verdicts import PY, project, run

from compat import issues, metadata, notices, pullrequest
from compat.markdown import BEGIN, END, find_markers
from compat.matrix import load
from compat.report import build_rows, supports
from compat.results import Result, Status, load_all, read_docs_json
from compat.sweep import Progress

HOSTILE = (
    "x\n<!-- compat:end -->\n# owned [evil link](https://evil.example/x) "
    "<img src=x onerror=alert(1)> @org/maintainers #123 org/repo#1 `tick` ```\n"
    "www.evil.example \x1b]0;owned\x07\x1b[2J\x1b[31m \ud800 \udcff \u202eevil"
)
# Pieces of HOSTILE that must never be live (outside code spans and fences).
LIVE = re.compile(r"owned|evil|maintainers|#\d|<img|<!--|(?<![\w/])@\w")
# Fields whose values have a grammar: a hostile value is refused, never rendered.
REFUSED = {
    "session", "integration", "label", "package", "requested", "installed", "python",
    "status", "tests", "started", "duration_s", "pytest_s", "in_declared_range", "declared",
    "key", "reuses", "snapshot", "resolution", "deprecations.category",
    "deprecations.attribution", "stale.at",
}  # fmt: skip
VALID = {
    "schema": 1, "session": f"compat-acme-latest-{PY}", "integration": "acme",
    "label": "latest", "package": "acme-sdk", "requested": "1.1.0", "installed": "1.1.0",
    "python": PY, "status": "failed", "started": "2026-11-25T10:00:00Z",
    "tests": {"passed": 0, "failed": 1, "skipped": 0, "errors": 0},
    "message": "it broke", "hint": "fix it", "notes": ["a note"], "log_tail": "E boom",
    "declared": ">=1.0", "key": {"distributions": "0123abcd"}, "snapshot": "2026-11-20T00:00:00Z",
    "stale": {"message": "index down", "hint": "retry", "at": "2026-11-26T10:00:00Z"},
    "resolution": {"integration": "highest"}, "freeze": ["acme-sdk==1.1.0"],
    "requirements": ["acme-sdk==1.1.0"], "duration_s": 1.5, "pytest_s": 1.0,
    "inputs": {"tests/test_acme.py": "0123abcd"}, "network": [], "audit": "",
}  # fmt: skip
NOT_STORED = {"schema", "reused", "why"}
NESTED_VALID = {
    "deprecations": {"category": "DeprecationWarning", "message": "old api",
                     "source": "mylib/x.py:3", "attribution": "usage"},
    "failures": {"test": "tests/test_acme.py::test_acme", "message": "assert False"},
    "stale": VALID["stale"],
    "observed": {"status": "failed", "message": "assert False", "hint": ""},
}  # fmt: skip


def _values(tp: object, base: object) -> list[object]:
    """Hostile JSON values for a field of type ``tp`` whose valid value is ``base``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return _values(next(a for a in args if a is not type(None)), base)
    if tp is str:
        return [HOSTILE, f"{base or 'x'}\n{END}"]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [HOSTILE, f"{base}\n"]
    if tp is bool:
        return [HOSTILE, 1]
    if tp in (int, float):
        return [HOSTILE, float("nan"), -1, True]
    if origin is list and args[0] is str:
        return [[v] for v in _values(str, "x")]
    if origin is dict:
        return [{HOSTILE: 1 if args[1] is int else "x"}, {"integration": HOSTILE}]
    raise AssertionError(f"no hostile values for {tp}: extend the test")


def cases() -> list[tuple[str, dict]]:
    """(field path, record) for every field of ``Result`` and of the records inside it."""
    found = []
    for f in dataclasses.fields(Result):
        if f.name in NOT_STORED:
            continue
        tp = typing.get_type_hints(Result)[f.name]
        inner = [a for a in (typing.get_args(tp) or (tp,)) if dataclasses.is_dataclass(a)]
        if inner:  # a record inside: each of its fields in turn
            for g in dataclasses.fields(inner[0]):
                sub = typing.get_type_hints(inner[0])[g.name]
                for value in _values(sub, NESTED_VALID[f.name][g.name]):
                    item = {**NESTED_VALID[f.name], g.name: value}
                    whole = [item] if typing.get_origin(tp) is list else item
                    found.append((f"{f.name}.{g.name}", {**VALID, f.name: whole}))
            continue
        for value in _values(tp, VALID.get(f.name)):
            found.append((f.name, {**VALID, f.name: value}))
    return found


CASES = cases()


def live_markdown(text: str, anchors: set[str] = frozenset()) -> list[str]:
    """What ``text`` renders as live markup on GitHub: HTML, images, links (other than
    ``anchors``), and hostile words outside code (mentions, references, headings)."""
    found = []

    def walk(tokens) -> None:
        for token in tokens:
            if token.type == "html_block" and token.content.strip() in (BEGIN, END):
                continue  # the page's own markers (their count is checked on their own)
            if token.type in ("html_block", "html_inline", "image"):
                found.append(f"{token.type}: {token.content}")
            elif token.type == "link_open" and token.attrs.get("href") not in anchors:
                found.append(f"link: {token.attrs.get('href')}")
            elif token.type == "text" and LIVE.search(token.content):
                found.append(f"text: {token.content}")
            walk(token.children or [])

    walk(MarkdownIt("gfm-like").parse(text))
    return found


def plain_terminal(text: str) -> list[str]:
    """Escape sequences, control characters and surrogates that reach a terminal."""
    text = text.replace("\r\x1b[K", "")  # the progress line's own
    return re.findall(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e]", text)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("path, record", CASES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(CASES)])
def test_a_hostile_field_is_refused_or_inert_everywhere(
    tmp_path: Path, capsys, monkeypatch, path: str, record: dict
) -> None:
    monkeypatch.delenv("CI", raising=False)
    if path.startswith("deprecations"):
        record = {**record, "status": "deprecated", "tests": {"passed": 1}}
    root = project(tmp_path / "p", None)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "cell.json").write_text(json.dumps(record))  # lone surrogates as escapes
    code = run(root, "report", "--merge", str(artifacts), "--offline")
    err = capsys.readouterr().err
    page_path = root / "docs/compatibility-matrix.md"
    page = page_path.read_text(encoding="utf-8")
    stored = load_all(root / ".compat/results").results
    refused = not stored
    if path in REFUSED:
        assert refused, f"{path}: a hostile value was accepted"
    if refused:
        assert code == 2 and "cell.json" in err and path.split(".")[0] in err, err
        assert plain_terminal(err) == []
    # The page: one marker pair, nothing live, and a later report still works on it.
    assert page.count(BEGIN) == 1 and page.count(END) == 1
    assert find_markers(page) is not None
    assert live_markdown(page, {"#acme"}) == []
    assert run(root, "report", "--offline") in (0, 1)
    assert page_path.read_text(encoding="utf-8") == page
    docs_json = page_path.with_suffix(".json").read_text(encoding="utf-8")
    assert read_docs_json(page_path.with_suffix(".json")).problems == []
    if refused:
        return
    (result,) = stored.values()
    # Issue bodies, and what `compat issues` prints.
    drafts = issues.compat_failures([result])
    assert drafts, "the record should file an issue"
    for draft in drafts:
        assert live_markdown(draft.body) == [] and plain_terminal(draft.title) == []
    assert run(root, "issues", "--dry-run") in (1, 0)
    assert plain_terminal(capsys.readouterr().out) == []
    # The pull-request body, from the docs JSON before (none) and after.
    body = pullrequest.render_body(pullrequest.summarize(None, json.loads(docs_json)), ["x.md"])
    assert live_markdown(body) == []
    # Metadata blocks and the notices module, from the support facts.
    matrix = load(root / "compat.toml")
    facts = supports(build_rows(matrix, stored, None))
    for support in facts:
        block = metadata.render_block(support)
        assert plain_terminal(block) == []
        headings = [line for line in block.splitlines() if line and not line.startswith(" ")]
        assert headings == ["Compatibility:", "Known Issues:", "Next Breaking Change:"]
        source = metadata.rewrite('"""My module."""\n\nX = 1\n', block)
        assert metadata.rewrite(source, block) == source
        compile(source, "module.py", "exec")
    module = notices.render(facts)
    namespace: dict = {}
    exec(compile(module, "notices.py", "exec"), namespace)
    assert plain_terminal(module) == [] and plain_terminal(repr(namespace["TESTED"])) == []
    # The terminal: the summary line and the sweep's progress line (as an error too).
    assert plain_terminal(result.summary()) == []
    stream = Terminal()
    progress = Progress(2, stream)
    progress.finished(result)
    progress.finished(dataclasses.replace(result, status=Status.ERROR))
    assert plain_terminal(stream.getvalue()) == []
    lines = [line for line in stream.getvalue().replace("\r\x1b[K", "\n").split("\n") if line]
    assert all(line.startswith(("[", "    ", "done")) for line in lines), lines


def test_every_field_is_covered() -> None:
    covered = {path.split(".")[0] for path, _ in CASES}
    assert covered == {f.name for f in dataclasses.fields(Result)} - NOT_STORED


def test_a_hostile_record_in_the_committed_docs_json_is_refused(tmp_path: Path, capsys) -> None:
    root = project(tmp_path / "p", None)
    docs = root / "docs"
    docs.mkdir()
    cell = {**VALID, "package": "acme-sdk\n<!-- compat:end -->\n[x](https://evil.example)"}
    (docs / "compatibility-matrix.json").write_text(
        json.dumps({"schema": 1, "integrations": {"acme": {"cells": [cell]}}})
    )
    assert run(root, "report", "--offline") == 2
    err = capsys.readouterr().err
    assert "integrations.acme.cells[0]: package" in err and "evil" not in err.split("'")[0]
    assert not (docs / "compatibility-matrix.md").exists()  # nothing rendered over them


def test_the_pull_request_body_from_a_hostile_docs_json_at_head() -> None:
    """The pull request compares with the docs JSON of HEAD, read as plain data."""
    old = {"integrations": {"acme": {"cells": [{**VALID, "python": "3.12\n# owned @org/x"}]}}}
    bad = {**VALID, "requested": "1.2 <img src=x>", "python": HOSTILE, "status": "failed"}
    new = {
        "integrations": {
            "acme": {
                "cells": [bad],
                "lowest_passing": HOSTILE,
                "latest_on_index": HOSTILE,
                "marks": [{"kind": "cap-lift", "text": HOSTILE}],
            },
            HOSTILE: {"cells": []},
        }
    }
    body = pullrequest.render_body(pullrequest.summarize(old, new), ["docs/x.md"])
    assert live_markdown(body) == []


@pytest.mark.parametrize(
    "change, says",
    [
        ({"python": "3.12\n## owned"}, "python"),
        ({"notes_url": "https://evil.example/x)[owned](https://evil.example"}, "notes_url"),
        ({"notes_url": "javascript:alert(1)"}, "notes_url"),
        ({"package": "acme <img src=x>"}, "package"),
        ({"first_bad": "1.2\n"}, "first_bad"),
        ({"cells": [{"session": "../../x", "version": "1.0", "status": "failed"}]}, "session"),
    ],
)
def test_a_hostile_bisect_answer_is_refused(tmp_path: Path, capsys, change, says) -> None:
    root = project(tmp_path / "p", None)
    results = root / ".compat/results"
    results.mkdir(parents=True)
    (results / f"compat-acme-latest-{PY}.json").write_text(json.dumps(VALID))
    answer = {
        "integration": "acme", "package": "acme-sdk", "python": PY, "good": "1.0.0",
        "bad": "1.1.0", "found": True, "first_bad": "1.1.0", "last_good": "1.0.0",
        "notes_url": "https://pypi.org/project/acme-sdk/1.1.0/", "found_at": "2026-11-26T00:00:00Z",
    }  # fmt: skip
    path = results / "bisect-acme.answer.json"
    path.write_text(json.dumps(answer))
    assert run(root, "report", "--offline") == 1
    page = (root / "docs/compatibility-matrix.md").read_text()
    assert "[release notes](https://pypi.org/project/acme-sdk/1.1.0/)" in page
    path.write_text(json.dumps({**answer, **change}))
    assert run(root, "report", "--offline") == 2
    err = capsys.readouterr().err
    assert "bisect-acme.answer.json" in err and says in err
    page = (root / "docs/compatibility-matrix.md").read_text()
    assert live_markdown(page, {"#acme"}) == [] and "bisect" not in page.split(END)[0][-2000:]
