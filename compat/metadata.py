"""The version-metadata block in each integration module's docstring: rendered, placed, checked.

``render_block`` turns the support facts of one integration into the block of DESIGN.md;
``rewrite`` puts it into a module's source (source in, source out, nothing else changed);
``update_file`` does that for a file and says whether, and how, the file would change.

**How the block is found.** By its headings, not by markers: the block is a run of sections
headed ``Compatibility:``, ``Known Issues:`` and ``Next Breaking Change:`` (any case, one
indentation), each heading followed by lines indented deeper than it or blank, the sections
separated only by blank lines. The run must contain ``Compatibility:``. It ends at its last
indented line, so text after it (at the heading's indentation or less) is the maintainers'
and stays. A block edited by hand, or written by hand from the maintainers' old template, is
found the same way and replaced whole.

**Where a new block goes.** At the end of the existing docstring, after a blank line; a
one-line docstring in single quotes becomes triple-quoted with the same quote character and
prefix. A module without a docstring gets one before its first statement: after a shebang,
an encoding line, comments and blank lines, before ``from __future__`` imports.

**Escaping.** The block is written into the literal so that its value is the block: in a
non-raw docstring backslashes are doubled and the third of three quote characters in a row
is escaped; in a raw docstring (where nothing can be escaped) a backslash before a quote is
kept as a pair and a third quote in a row is written as ``\\"``, which keeps the literal
intact at the price of a visible backslash. Free text (failure messages) is reduced to one
printable line first.

**No passing version.** The Compatibility line then says so: ``crewai: no passing version
(declared >=1.0)``, or ``crewai: not tested yet`` when nothing was judged.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import textwrap
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from compat.errors import CompatError
from compat.fileio import write_atomic_bytes
from compat.support import KnownIssue, Support, Upcoming
from compat.text import map_text, normalise

WIDTH = 88  # the longest line of a rendered block, indentation included (ruff/black default)
MAX_REASON = 200  # characters kept of one reason
HEADINGS = ("Compatibility", "Known Issues", "Next Breaking Change")
_VERBS = {
    "failed": "fails",
    "install-failed": "does not install",
    "wrong-version": "installs another version",
    "timeout": "times out",
    "deprecated": "warns",
}
_HEADING = re.compile(
    r"([ \t]*)(compatibility|known issues|next breaking change):[ \t]*\r?\n?", re.IGNORECASE
)
_DOC_PREFIXES = {"", "r", "u"}
_SENTENCE_END = re.compile(r"[.!?;](?=\s)")  # the end of a sentence (or clause), before a space


class MetadataError(CompatError):
    """The block cannot be placed in a module (not Python, an unsupported docstring shape)."""


# -- rendering ---------------------------------------------------------------------------------


def render_block(support: Support, width: int = WIDTH) -> str:
    """The generated block for ``support``: no indentation, ``\\n`` line ends."""
    support = map_text(support, clean)  # every value from the verdicts: one printable line
    lines = ["Compatibility:", f"    {_compatibility(support)}"]
    if support.last_tested:
        when = f" ({support.last_tested_on})" if support.last_tested_on else ""
        lines.append(f"    Last tested: {support.last_tested}{when}")
    else:
        lines.append("    Last tested: never")
    lines.append(f"    Python: {', '.join(support.pythons) or 'not tested'}")
    lines += ["", "Known Issues:"]
    issues = [_issue(issue, support.pythons) for issue in support.known_issues]
    lines += _items(issues or ["None"], width)
    lines += ["", "Next Breaking Change:"]
    upcoming = [_upcoming(up, support.package) for up in support.next_breaking]
    lines += _items(upcoming or ["None known"], width)
    return "\n".join(lines) + "\n"


def _compatibility(support: Support) -> str:
    low, high = support.lowest_passing, support.highest_passing
    if low and high:
        return f"{support.package}: {low}" if low == high else f"{support.package}: {low} - {high}"
    if not support.last_tested:
        return f"{support.package}: not tested yet"
    declared = f" (declared {support.declared})" if support.declared else ""
    return f"{support.package}: no passing version{declared}"


def _issue(issue: KnownIssue, pythons: tuple[str, ...]) -> str:
    verb = _VERBS.get(issue.status, issue.status)
    where = ""
    if issue.pythons and set(issue.pythons) != set(pythons):
        where = f" on Python {', '.join(issue.pythons)}"
    reason = clean(issue.reason)
    return f"{issue.version} {verb}{where}" + (f": {reason}" if reason else "")


def _upcoming(upcoming: Upcoming, package: str) -> str:
    reason = clean(upcoming.reason)
    source = f" ({clean(upcoming.source)})" if upcoming.source else ""
    return f"{package} {upcoming.version}: {reason or 'breaks the tests'}{source}"


def clean(text: str, limit: int = MAX_REASON) -> str:
    """One printable line: no escapes or control characters, whitespace collapsed, and cut
    only between sentences: the whole sentences that fit in ``limit``, else the first one
    whole up to twice that (longer: cut at a word, "…")."""
    text = normalise(text, one_line=True)
    if len(text) <= limit:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    fitting = [end for end in ends if end <= limit]
    if fitting:
        return text[: fitting[-1]] + " …"
    first = ends[0] if ends else len(text)
    if first <= 2 * limit:
        return text[:first] + (" …" if first < len(text) else "")
    cut = text[: 2 * limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit:] else cut) + "…"


def _items(items: Iterable[str], width: int) -> list[str]:
    """Each item indented by 4 and wrapped, continuation lines indented by 8."""
    lines = []
    for item in items:
        wrapped = textwrap.wrap(
            item,
            width=max(width - 4, 20),
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines += [f"    {line}" for line in wrapped or [item]]
    return lines


# -- placing it in a module --------------------------------------------------------------------


@dataclass(frozen=True)
class _Docstring:
    start: int  # offset of the string token in the source (its prefix)
    end: int  # offset just after its closing quotes
    prefix: str  # "", "r", "u", "R", …
    quote: str  # '"' or "'"
    triple: bool

    @property
    def raw(self) -> bool:
        return "r" in self.prefix.lower()

    def content(self, source: str) -> str:
        size = 3 if self.triple else 1
        return source[self.start + len(self.prefix) + size : self.end - size]


def rewrite(source: str, block: str) -> str:
    """``source`` with ``block`` as the generated block of its module docstring.

    Everything else — the rest of the docstring, the code, the indentation, the line endings
    — is kept as it was; ``rewrite(rewrite(s, b), b) == rewrite(s, b)``.
    """
    lines = block.strip("\n").split("\n")
    newline = _newline(source)
    found = _find_docstring(source)
    if isinstance(found, int):
        return _insert_docstring(source, found, lines, newline)
    doc = found
    content = doc.content(source)
    new = _place(content, lines, doc, _newline(content, newline))
    quotes = doc.quote * 3
    literal = f"{doc.prefix}{quotes}{new}{quotes}"
    return source[: doc.start] + literal + source[doc.end :]


def _newline(text: str, default: str = "\n") -> str:
    at = text.find("\n")
    if at < 0:
        return default
    return "\r\n" if at > 0 and text[at - 1] == "\r" else "\n"


def _split(text: str) -> list[str]:
    """Lines with their ends, split at ``\\n`` only (as Python reads source)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    return [*out, lines[-1]] if lines[-1] else out


def _find_docstring(source: str) -> _Docstring | int:
    """The module docstring, or the offset where a new one goes."""
    lines = _split(source)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: tuple[int, int]) -> int:
        row, col = position
        return starts[row - 1] + col if row - 1 < len(lines) else len(source)

    readline = iter(lines).__next__
    significant = []
    try:
        for token in tokenize.generate_tokens(lambda: _next(readline)):
            if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING):
                continue
            significant.append(token)
            if len(significant) == 2:
                break
    except (tokenize.TokenError, SyntaxError) as exc:
        raise MetadataError(f"not valid Python: {exc}") from None
    first = significant[0] if significant else None
    docstring = _docstring_token(significant)
    _cross_check(source, docstring is not None)
    if docstring is None:
        if first is None or first.type == tokenize.ENDMARKER:
            return len(source)
        return starts[first.start[0] - 1]
    text = docstring.string
    prefix = text[: len(text) - len(text.lstrip("rRuUbBfF"))]
    body = text[len(prefix) :]
    return _Docstring(
        start=offset(docstring.start),
        end=offset(docstring.end),
        prefix=prefix,
        quote=body[0],
        triple=body[:3] == body[0] * 3,
    )


def _next(readline) -> str:
    try:
        return readline()
    except StopIteration:
        return ""


def _docstring_token(tokens: list[tokenize.TokenInfo]) -> tokenize.TokenInfo | None:
    """The STRING token when the first statement is one plain string literal."""
    if not tokens or tokens[0].type != tokenize.STRING:
        return None
    first = tokens[0]
    prefix = first.string[: len(first.string) - len(first.string.lstrip("rRuUbBfF"))]
    if prefix.lower() not in _DOC_PREFIXES:
        return None  # bytes or an f-string: not a docstring
    after = tokens[1] if len(tokens) > 1 else None
    if after is None or after.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or after.string == ";":
        return first
    if after.type == tokenize.STRING:
        raise MetadataError(
            "the module docstring is split into several string literals: join them into one"
        )
    return None  # an expression that starts with a string


def _cross_check(source: str, found: bool) -> None:
    """Refuse docstring shapes the tokenizer does not see (a parenthesised docstring)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return  # newer syntax than this Python reads: the tokens are all we have
    if (ast.get_docstring(tree, clean=False) is not None) != found:
        raise MetadataError(
            "unsupported module docstring shape (e.g. in parentheses): "
            "write it as one plain string literal"
        )


def _insert_docstring(source: str, at: int, block: list[str], newline: str) -> str:
    text = _escape(newline.join(block), '"', raw=False)
    literal = f'"""{newline}{text}{newline}"""{newline}'
    before, after = source[:at], source[at:]
    if before and not before.endswith("\n"):
        before += newline
    if after and after.strip(" \t") and not after.lstrip(" \t").startswith(("\n", "\r\n")):
        literal += newline  # a blank line between the docstring and the code
    return before + literal + after


def _place(content: str, block: list[str], doc: _Docstring, newline: str) -> str:
    """The docstring content with ``block`` replacing its generated block, or added."""
    lines = _split(content)
    found = _find_block(lines)
    if found is not None:
        start, end, indent = found
        text = _indented(block, indent, doc, newline)
        last = lines[end - 1]
        ending = last[len(last.rstrip("\r\n")) :]
        return "".join(lines[:start]) + text + ending + "".join(lines[end:])
    indent = _body_indent(lines)
    text = _indented(block, indent, doc, newline)
    if not content.strip():
        return newline + text + newline
    last = lines[-1]
    if last.strip(" \t"):  # the closing quotes follow the text on its line
        return content.rstrip() + newline + newline + text + newline + indent
    tail = last if not last.endswith("\n") else ""  # the indentation before the quotes
    head = content[: len(content) - len(tail)]
    return head.rstrip() + newline + newline + text + newline + tail


def _find_block(lines: list[str]) -> tuple[int, int, str] | None:
    """(first line, line after the last, indentation) of the generated block, if any."""
    i = 0
    while i < len(lines):
        match = _HEADING.fullmatch(lines[i])
        if not match:
            i += 1
            continue
        indent = match.group(1)
        start, end, names, j = i, i + 1, set(), i
        while j < len(lines):
            heading = _HEADING.fullmatch(lines[j])
            if not heading or heading.group(1) != indent:
                break
            names.add(heading.group(2).lower())
            end, j = j + 1, j + 1
            while j < len(lines):
                if not lines[j].strip():
                    j += 1
                elif _indent(lines[j]) > len(indent):
                    end, j = j + 1, j + 1
                else:
                    break
        if "compatibility" in names:
            return start, end, indent
        i = max(j, i + 1)
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _body_indent(lines: list[str]) -> str:
    """The indentation of the docstring's text after its first line (usually none)."""
    body = [line for line in lines[1:] if line.strip()]
    if not body:
        return ""
    shortest = min(body, key=_indent)
    return shortest[: _indent(shortest)]


def _indented(block: list[str], indent: str, doc: _Docstring, newline: str) -> str:
    text = newline.join(indent + line if line else "" for line in block)
    return _escape(text, doc.quote, raw=doc.raw)


def _escape(text: str, quote: str, *, raw: bool) -> str:
    """``text`` made safe inside a triple-quoted literal delimited by ``quote``.

    The last character is escaped when it is a quote: the closing delimiter may follow it.
    """
    if not raw:
        text = text.replace("\\", "\\\\")
    out: list[str] = []
    run = 0
    i = 0
    while i < len(text):
        char = text[i]
        if raw and char == "\\":
            out.append(text[i : i + 2])  # a pair the tokenizer reads as one
            run = 0
            i += 2
            continue
        if char == quote:
            run += 1
            if run == 3 or i == len(text) - 1:
                out.append("\\" + quote)
                run = 0
            else:
                out.append(char)
        else:
            out.append(char)
            run = 0
        i += 1
    escaped = "".join(out)
    if raw and (len(escaped) - len(escaped.rstrip("\\"))) % 2:
        escaped += "\\"  # an odd backslash at the end would swallow a closing quote
    return escaped


# -- files -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileUpdate:
    """A generated file's current bytes and the bytes it should have."""

    path: Path
    name: str  # as shown to the user (relative to the project)
    old: bytes | None  # None when the file does not exist
    new: bytes

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self, max_lines: int = 200) -> str:
        """A unified diff from the file to what it should be; "" when they agree."""
        if not self.changed:
            return ""
        old = _text_lines(self.old) if self.old is not None else []
        lines = list(
            difflib.unified_diff(
                old,
                _text_lines(self.new),
                fromfile=f"a/{self.name}" if self.old is not None else "/dev/null",
                tofile=f"b/{self.name}",
            )
        )
        if len(lines) > max_lines:
            lines = [*lines[:max_lines], f"... ({len(lines) - max_lines} more diff lines)\n"]
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def write(self) -> None:
        """Write the new bytes atomically (nothing happens when the file already agrees)."""
        if self.changed:
            write_atomic_bytes(self.path, self.new)


def apply(files: Iterable[FileUpdate], *, write: bool) -> tuple[int, str]:
    """``--write`` or ``--check`` a set of generated files: (exit code, text to print).

    Writing: every file that disagrees is written, exit 0. Checking: nothing is written; the
    diffs, and exit 1 when any file disagrees.
    """
    lines = []
    stale = False
    for update in files:
        if not update.changed:
            lines.append(f"up to date: {update.name}" if write else "")
        elif write:  # what was there (a block edited by hand, say) is shown as it goes
            update.write()
            lines.append(f"wrote {update.name}\n{update.diff().rstrip()}")
        else:
            stale = True
            lines.append(update.diff().rstrip("\n"))
    text = "\n".join(line for line in lines if line)
    return (1 if stale else 0), (text + "\n" if text else "")


def _text_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace")
    return [line.replace("\r\n", "\n") for line in _split(text)]


def rewrite_file(path: Path, block: str, name: str | None = None) -> FileUpdate:
    """What ``path`` becomes with ``block``, read and encoded in the file's own encoding."""
    label = name or path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MetadataError(f"{label}: no such file (the integration's `file`)") from None
    except OSError as exc:
        raise MetadataError(f"{label}: cannot read it ({exc.strerror})") from None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        source = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise MetadataError(f"{label}: cannot decode it: {exc}") from None
    try:
        new = rewrite(source, block)
    except MetadataError as exc:
        raise MetadataError(f"{label}: {exc}") from None
    try:
        encoded = new.encode(encoding)
    except UnicodeEncodeError:
        raise MetadataError(
            f"{label}: the block has characters its encoding ({encoding}) cannot hold"
        ) from None
    return FileUpdate(path, label, data, encoded)


def updates(supports: Iterable[Support], root: Path) -> list[FileUpdate]:
    """One ``FileUpdate`` per integration with a ``file`` (relative to ``root``)."""
    owners: dict[str, str] = {}
    out = []
    for support in supports:
        if not support.file:
            continue
        if support.file in owners:
            raise MetadataError(
                f"{support.file}: the `file` of both {owners[support.file]} and "
                f"{support.integration}; a module carries one integration's block"
            )
        owners[support.file] = support.integration
        out.append(rewrite_file(root / support.file, render_block(support), support.file))
    return out
