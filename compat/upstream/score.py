"""Breaking-change score of one release. Pure functions, no I/O.

``high`` means the project's users break: a certain API breakage in what the project uses
(an extra signal from the API diff), a breaking note naming what the project uses, a yanked
version the project pins. Signals, each with a level, a reason and the lines behind it:

* release-note *sections* (Markdown ``#`` headings, ``**bold**`` lines used as
  headings, reStructuredText underlines): "Breaking changes" and "Removed";
  towncrier's "Deprecations and Removals" when a line in it removes or drops
  something; explicit markers on a line: Conventional Commits ``type(scope)!:``
  and ``BREAKING CHANGE:`` / ``BREAKING:``. Each is ``high`` when one of its
  lines names something the project's code uses (``used``: identifiers such as
  ``OpenAI``, ``create``, ``timeout``, written in backticks or as code), else
  ``medium``. "Deprecated" sections are ``medium``. An empty section ("None",
  "N/A") does not count;
* the version jump: a new major, or a new minor on 0.x, is ``medium``
  (calendar versions have no breaking jump);
* a changed requires-python: ``medium`` when it drops a Python the matrix
  tests, else ``low``; a yanked release: ``medium``, ``high`` when pinned;
* extra signals from elsewhere (the API diff, the matrix's own verdicts).

A word in a generic section ("What's Changed") or in a PR title ("Remove typo",
"Fix deprecated docs link") is not a signal on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.version import Version

LEVELS = ("low", "medium", "high")
MAX_LINES = 20  # matching lines kept per signal

_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD = re.compile(r"^\s*(?:\*\*|__)([^*_].*?)(?:\*\*|__)\s*:?\s*$")
_UNDERLINE = re.compile(r"^\s*([=\-~^\"'`*+#])\1{2,}\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SHA = re.compile(r"^(?:\[?`?[0-9a-f]{7,40}`?\]?(?:\([^)]*\))?:?\s+)")
_CONVENTIONAL = re.compile(r"^(?:\*\*)?[a-z]+(?:\([^)]*\))?!(?:\*\*)?:\s*\S", re.IGNORECASE)
_BREAKING_MARK = re.compile(
    r"^(?:\*\*|__)?(?:BREAKING[ -]CHANGES?|BREAKING)(?:\*\*|__)?\s*:(?:\*\*|__)?", re.IGNORECASE
)
_EMPTY = re.compile(r"^(?:none|n/?a|nothing|-+|—|no (?:breaking )?changes?)\.?$", re.IGNORECASE)
_REMOVES = re.compile(r"\b(?:remov\w*|drop\w*|delet\w*)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Signal:
    level: str  # low | medium | high
    reason: str
    lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown level {self.level!r} (expected one of {LEVELS})")

    def to_dict(self) -> dict:
        return {"level": self.level, "reason": self.reason, "lines": list(self.lines)}


@dataclass(frozen=True)
class Score:
    level: str
    signals: tuple[Signal, ...] = field(default_factory=tuple)

    @property
    def reasons(self) -> list[str]:
        return [s.reason for s in self.signals]

    @property
    def lines(self) -> list[str]:
        """The matching lines of every signal, in order, without repeats."""
        return list(dict.fromkeys(line for s in self.signals for line in s.lines))


def rank(level: str) -> int:
    return LEVELS.index(level)


def score_release(
    version: Version | str,
    *,
    previous: Version | str | None = None,
    notes: str | None = None,
    requires_python: SpecifierSet | str | None = None,
    previous_requires_python: SpecifierSet | str | None = None,
    yanked: bool | str = False,
    pinned: bool = False,
    pythons: Sequence[str] = (),
    used: frozenset[str] | None = None,
    extra: Iterable[Signal | tuple[str, str, Sequence[str]]] = (),
) -> Score:
    """Score one release; ``pythons`` are the ``X.Y`` the matrix tests, ``used`` the names the
    project's code uses (None: unknown), ``pinned`` whether the project pins this version,
    ``extra`` more signals."""
    signals: list[Signal] = []
    if notes:
        signals += note_signals(notes, used)
    if previous is not None:
        signals += jump_signals(Version(str(previous)), Version(str(version)))
    signals += python_signals(previous_requires_python, requires_python, pythons)
    if yanked is not False:
        why = f": {yanked}" if isinstance(yanked, str) and yanked else ""
        if pinned:
            signals.append(Signal("high", f"yanked on the index{why}; the project pins it"))
        else:
            signals.append(Signal("medium", f"yanked on the index{why}"))
    for item in extra:
        signals.append(
            item if isinstance(item, Signal) else Signal(item[0], item[1], tuple(item[2]))
        )
    signals.sort(key=lambda s: -rank(s.level))  # stable: same-level signals keep their order
    level = signals[0].level if signals else "low"
    return Score(level, tuple(signals))


def jump_signals(previous: Version, version: Version) -> list[Signal]:
    """A new major (SemVer) or a new minor on 0.x; nothing for calendar versions."""
    if version <= previous or version.major >= 1900:
        return []
    if version.major > previous.major:
        return [Signal("medium", f"new major version ({previous} → {version})")]
    if version.major == 0 and version.minor > previous.minor:
        return [Signal("medium", f"new minor version on 0.x ({previous} → {version})")]
    return []


def python_signals(
    old: SpecifierSet | str | None, new: SpecifierSet | str | None, pythons: Sequence[str]
) -> list[Signal]:
    """A changed requires-python; ``medium`` when it drops a Python the matrix tests."""
    old_spec, new_spec = _spec(old), _spec(new)
    if old_spec == new_spec:
        return []
    change = f"requires-python changed: {old_spec or '(none)'} → {new_spec or '(none)'}"
    dropped = [py for py in pythons if _admits(old_spec, py) and not _admits(new_spec, py)]
    if dropped:
        return [
            Signal("medium", f"{change}; drops Python {', '.join(dropped)} that the matrix tests")
        ]
    return [Signal("low", change)]


def _spec(value: SpecifierSet | str | None) -> SpecifierSet | None:
    if value is None or str(value).strip() == "":
        return None
    return value if isinstance(value, SpecifierSet) else SpecifierSet(str(value))


def _admits(spec: SpecifierSet | None, python: str) -> bool:
    return (
        spec is None
        or spec.contains(f"{python}.0", prereleases=True)
        or spec.contains(f"{python}.99", prereleases=True)
    )


# -- release notes ----------------------------------------------------------------------------


def note_signals(notes: str, used: frozenset[str] | None = None) -> list[Signal]:
    """Signals from the text of release notes: sections and explicit markers (see above)."""
    sections: list[tuple[str, str, list[str]]] = []  # (kind, heading, lines)
    current: tuple[str | None, int, str, list[str]] = (None, 0, "", [])
    conventional: list[str] = []
    marked: list[str] = []
    lines = notes.replace("\r\n", "\n").split("\n")
    for i, raw in enumerate(lines):
        if _UNDERLINE.match(raw) and i > 0 and _is_rst_title(lines[i - 1]):
            continue  # the underline of a heading handled on the previous line
        heading = _heading(raw, lines[i + 1] if i + 1 < len(lines) else "")
        if heading is not None:
            depth, title = heading
            kind, cur_depth, cur_title, cur_lines = current
            if kind is None or depth <= cur_depth:
                if kind is not None:
                    sections.append((kind, cur_title, cur_lines))
                current = (_section_kind(title), depth, title, [])
            continue
        text = raw.strip()
        if not text:
            continue
        if current[0] is not None:
            current[3].append(text)
        body = _SHA.sub("", _BULLET.sub("", text), count=1)
        if _CONVENTIONAL.match(body):
            conventional.append(text)
        elif _BREAKING_MARK.match(body):
            marked.append(text)
    if current[0] is not None:
        sections.append((current[0], current[2], current[3]))

    signals = [
        s for kind, title, body in sections if (s := _section_signal(kind, title, body, used))
    ]
    if conventional:
        signals.append(_breaking("Conventional Commit marked breaking (`!:`)", conventional, used))
    if marked:
        signals.append(_breaking("line marked BREAKING CHANGE", marked, used))
    return signals


def _breaking(reason: str, lines: list[str], used: frozenset[str] | None) -> Signal:
    """``high`` when a line names what the project uses (those lines first), else ``medium``."""
    naming = [line for line in lines if used and names_used(line, used)]
    if naming:
        rest = [line for line in lines if line not in naming]
        return Signal("high", f"{reason}, naming what your code uses", _cap(naming + rest))
    if used is None:
        return Signal("medium", reason, _cap(lines))
    return Signal("medium", f"{reason}; none of it names what your code uses", _cap(lines))


_CODE = re.compile(r"`+([^`]+)`+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODE_LIKE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|\w+_\w+|[A-Z][a-z0-9]+[A-Z]\w*|\w+\(\)")


def names_used(line: str, used: frozenset[str]) -> bool:
    """Whether ``line`` names one of ``used`` as code: in backticks, or written like code
    (``Client.fetch``, ``max_retries``, ``OpenAI``, ``create()``) — not as a plain word."""
    words: set[str] = set()
    for span in _CODE.findall(line):
        words.update(_WORD.findall(span))
    for token in _CODE_LIKE.findall(_CODE.sub(" ", line)):
        words.update(_WORD.findall(token))
    return bool(words & used)


def _is_rst_title(line: str) -> bool:
    text = line.strip()
    return bool(text) and not _BULLET.match(line) and not _UNDERLINE.match(line)


def _heading(line: str, next_line: str) -> tuple[int, str] | None:
    """(depth, title) when ``line`` is a heading; bold lines are the deepest kind."""
    if match := _ATX.match(line):
        return len(match.group(1)), match.group(2)
    if _UNDERLINE.match(next_line) and _is_rst_title(line):
        char = next_line.strip()[0]
        return {"=": 1, "-": 2, "~": 3}.get(char, 4), line.strip()
    if match := _BOLD.match(line):
        return 7, match.group(1)
    return None


def _normalise(title: str) -> str:
    text = title.lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9' -]+", " ", text).replace("'", "")
    return " ".join(text.split())


def _section_kind(title: str) -> str | None:
    text = _normalise(title)
    if re.search(r"(?<!non )(?<!non-)\bbreaking\b", text) and "non breaking" not in text:
        return "breaking"
    deprecated, removed = r"(deprecations?|deprecated)", r"(removals?|removed)"
    if re.fullmatch(rf"{deprecated} and {removed}|{removed} and {deprecated}", text):
        return "deprecations-removals"
    if re.fullmatch(r"(removed|removals?|removed (features|apis?|functionality|support))", text):
        return "removed"
    if re.fullmatch(r"(deprecated|deprecations?|deprecated (features|apis?|functionality))", text):
        return "deprecated"
    return None


def _section_signal(
    kind: str | None, title: str, body: list[str], used: frozenset[str] | None
) -> Signal | None:
    lines = [line for line in body if not _EMPTY.match(_BULLET.sub("", line).strip("*_ "))]
    if kind is None or not lines:
        return None
    name = title.strip().strip("*_: ")
    if kind in ("breaking", "removed"):
        return _breaking(f'"{name}" section', lines, used)
    if kind == "deprecations-removals":
        removing = [line for line in lines if _REMOVES.search(line)]
        if removing:
            return _breaking(f'"{name}" section removes APIs', removing, used)
        return Signal("medium", f'"{name}" section', _cap(lines))
    return Signal("medium", f'"{name}" section', _cap(lines))


def _cap(lines: list[str]) -> tuple[str, ...]:
    return tuple(lines[:MAX_LINES])
