"""The version-metadata block: rendered from support facts, placed in every module shape.

``rewrite`` is pure (source in, source out), so most tests are tables of module sources: for
each, the block lands in the module docstring, nothing outside the docstring changes, a
second run changes nothing, and the module still compiles to the same code.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from compat.metadata import (
    MetadataError,
    apply,
    render_block,
    rewrite,
    rewrite_file,
    updates,
)
from compat.support import KnownIssue, Support, Upcoming


def support(**changes) -> Support:
    facts = {
        "integration": "crewai",
        "package": "crewai",
        "declared": ">=0.80.0",
        "lowest_passing": "0.80.0",
        "highest_passing": "1.15.30",
        "last_tested": "1.15.30",
        "last_tested_on": "2026-11-25",
        "pythons": ("3.11", "3.12"),
        "passing": ("0.80.0", "1.15.30"),
        "known_issues": (),
        "next_breaking": (),
        "file": "mylib/integrations/crewai.py",
    }
    return Support(**{**facts, **changes})


PLAIN = support()
BLOCK = render_block(PLAIN)
ISSUES = support(
    known_issues=(
        KnownIssue(
            "1.2.0",
            "failed",
            "tests/test_smoke.py::test_agent: AttributeError: 'Agent' object has no attribute 'run'",
            ("3.12",),
        ),
        KnownIssue("1.3.0", "deprecated", "DeprecationWarning: Agent.run() is deprecated", ()),
        KnownIssue("1.4.0", "install-failed", "No solution found: pydantic<2 conflicts", ()),
    ),
    next_breaking=(
        Upcoming(
            "2.0.0rc1", "test_agent: TypeError: Agent() takes no arguments", "prerelease cell"
        ),
        Upcoming("2.0.0", "release notes: removes Agent.run", "release alert"),
    ),
)


# -- rendering ---------------------------------------------------------------------------------


def test_block_has_the_shape_of_the_reference():
    assert BLOCK == (
        "Compatibility:\n"
        "    crewai: 0.80.0 - 1.15.30\n"
        "    Last tested: 1.15.30 (2026-11-25)\n"
        "    Python: 3.11, 3.12\n"
        "\n"
        "Known Issues:\n"
        "    None\n"
        "\n"
        "Next Breaking Change:\n"
        "    None known\n"
    )


def test_known_issues_and_next_breaking_change_are_filled():
    block = render_block(ISSUES)
    assert block.split("Known Issues:\n")[1] == (
        "    1.2.0 fails on Python 3.12: tests/test_smoke.py::test_agent: AttributeError: 'Agent'\n"
        "        object has no attribute 'run'\n"
        "    1.3.0 warns: DeprecationWarning: Agent.run() is deprecated\n"
        "    1.4.0 does not install: No solution found: pydantic<2 conflicts\n"
        "\n"
        "Next Breaking Change:\n"
        "    crewai 2.0.0rc1: test_agent: TypeError: Agent() takes no arguments (prerelease cell)\n"
        "    crewai 2.0.0: release notes: removes Agent.run (release alert)\n"
    )
    assert max(len(line) for line in block.splitlines()) <= 88


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({"lowest_passing": None, "highest_passing": None, "passing": ()},
         "crewai: no passing version (declared >=0.80.0)"),
        ({"lowest_passing": None, "highest_passing": None, "passing": (), "declared": ""},
         "crewai: no passing version"),
        ({"lowest_passing": None, "highest_passing": None, "passing": (), "last_tested": None,
          "last_tested_on": None, "pythons": ()}, "crewai: not tested yet"),
        ({"lowest_passing": "1.0", "highest_passing": "1.0"}, "crewai: 1.0"),
    ],
)  # fmt: skip
def test_the_compatibility_line_without_a_range(changes, line):
    block = render_block(support(**changes))
    assert block.splitlines()[1] == f"    {line}"
    if changes.get("last_tested", "x") is None:
        assert "    Last tested: never\n    Python: not tested\n" in block


def test_outside_text_becomes_one_printable_line():
    issue = KnownIssue(
        "1.2.0", "failed", "boom\x1b[31m red\x1b[0m\nsecond\tline\u2028" + "x" * 400, ()
    )
    block = render_block(support(known_issues=(issue,)))
    assert "\x1b" not in block and "\u2028" not in block
    assert "boom red second line" in block
    assert "…" in block and len(block) < 800


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # whole sentences that fit in 200 characters; never cut inside one
        ("First sentence here. " + "Second one is much longer " * 10 + "end.",
         "First sentence here. …"),
        # one long sentence (no sentence end before the limit): kept whole up to twice that
        ("ModuleNotFoundError: No module named 'transport' " + "(tests/test_plugin.py::test_x) " * 5,
         "ModuleNotFoundError: No module named 'transport' " + "(tests/test_plugin.py::test_x) " * 4
         + "(tests/test_plugin.py::test_x)"),
        ("short. text.", "short. text."),
    ],
)  # fmt: skip
def test_reasons_are_cut_between_sentences(text, kept):
    from compat.metadata import clean

    assert clean(text) == kept


# -- every module shape ---------------------------------------------------------------------------

SHAPES = {
    "no docstring": "import os\n",
    "empty file": "",
    "comment only, no final newline": "# just a comment",
    "shebang, encoding, comments, future": (
        "#!/usr/bin/env python\n"
        "# -*- coding: utf-8 -*-\n"
        "# Copyright (c) the authors.\n"
        "\n"
        "from __future__ import annotations\n"
        "\n"
        "import os\n"
    ),
    "one-line docstring": '"""CrewAI integration."""\n\nimport os\n',
    "multi-line docstring": '"""CrewAI integration.\n\nHand-written text.\n"""\n\nimport os\n',
    "closing quotes after text": '"""CrewAI integration.\n\nHand-written text."""\nimport os\n',
    "triple single quotes": "'''CrewAI integration.'''\nimport os\n",
    "single quotes": "'CrewAI integration.'\nimport os\n",
    "double quotes": '"CrewAI \\"integration\\"."\nimport os\n',
    "raw docstring": 'r"""CrewAI \\d integration."""\n\nimport re\n',
    "unicode prefix": 'u"""CrewAI integration."""\n',
    "docstring after comments": '# Copyright\n\n"""CrewAI integration."""\nfrom __future__ import annotations\n',
    "docstring then comment": '"""CrewAI integration."""  # noqa: D400\nimport os\n',
    "docstring with semicolon": '"""CrewAI integration."""; import os\n',
    "empty docstring": '""""""\nimport os\n',
    "docstring then future": '"""Doc."""\n\nfrom __future__ import annotations\n\nx = 1\n',
    "an f-string first is no docstring": 'f"{1}"\nx = 1\n',
    "a string expression is no docstring": '"abc".upper()\n',
    "crlf": '"""CrewAI integration.\r\n\r\nText.\r\n"""\r\n\r\nimport os\r\n',
    "crlf without docstring": "#!/usr/bin/env python\r\nimport os\r\n",
    "indented closing quotes": '"""CrewAI integration.\n\n    Indented text.\n    """\n',
    "newer syntax than this Python": '"""Doc."""\n\ntype Alias = int\n',
}


def docstring(source: str) -> str | None:
    return ast.get_docstring(ast.parse(source), clean=False)


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_module_shape(name):
    source = SHAPES[name]
    out = rewrite(source, BLOCK)
    assert rewrite(out, BLOCK) == out  # idempotent: byte-identical on the second run
    try:
        doc = docstring(out)
    except SyntaxError:  # type statements need Python 3.12
        assert "type Alias" in source
        return
    assert BLOCK.strip("\n") in inspect.cleandoc(doc)  # (Python reads CRLF as \n)
    assert "\n" not in out.replace("\r\n", "") or "\r\n" not in source  # no mixed line ends
    # Everything but the docstring compiles to the same code.
    before, after = ast.parse(source), ast.parse(out)
    for tree in (before, after):
        if ast.get_docstring(tree, clean=False) is not None:
            tree.body = tree.body[1:]
    assert ast.dump(before) == ast.dump(after)


@pytest.mark.parametrize("name", [n for n in SHAPES if n != "newer syntax than this Python"])
def test_only_the_docstring_changes(name):
    source = SHAPES[name]
    out = rewrite(source, BLOCK)
    tree = ast.parse(source)
    if ast.get_docstring(tree, clean=False) is None:
        # one docstring inserted before the first statement, the rest kept byte for byte
        first = tree.body[0].lineno if tree.body else None
        lines = source.splitlines(keepends=True)
        head = "".join(lines[: first - 1]) if first else source
        tail = "".join(lines[first - 1 :]) if first else ""
        assert out.startswith(head.rstrip("\n") if not head.endswith("\n") else head)
        assert out.endswith(tail)
        assert '"""\nCompatibility:' in out.replace("\r\n", "\n")
    else:
        node = tree.body[0]
        lines = source.splitlines(keepends=True)
        tail = "".join(lines[node.end_lineno :])
        assert out.endswith(tail)
        assert out.startswith("".join(lines[: node.lineno - 1]))


def test_no_docstring_goes_after_shebang_encoding_and_comments_before_future():
    out = rewrite(SHAPES["shebang, encoding, comments, future"], BLOCK)
    assert out.startswith(
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# Copyright (c) the authors.\n\n"
        '"""\nCompatibility:\n'
    )
    assert out.endswith('None known\n"""\n\nfrom __future__ import annotations\n\nimport os\n')
    compile(out, "m.py", "exec")  # the __future__ import is still allowed


def test_hand_written_text_around_the_block_is_kept():
    source = (
        '"""CrewAI integration: agents with capability checks.\n'
        "\n"
        "Usage::\n"
        "\n"
        "    from mylib.integrations.crewai import guard\n"
        "\n"
        "Compatibility:\n"
        "    crewai: 0.1 - 0.2\n"
        "    Last tested: 0.2 (2020-01-01)\n"
        "    Python: 3.9+\n"
        "\n"
        "Known Issues:\n"
        "    None\n"
        "\n"
        "Next Breaking Change:\n"
        "    CrewAI 1.0 (expected Q1 2025): Description\n"
        "\n"
        "See Also:\n"
        "    docs/crewai.md\n"
        '"""\n'
        "\n"
        "def guard():\n"
        "    return 1\n"
    )
    out = rewrite(source, render_block(ISSUES))
    assert out.startswith(source.split("Compatibility:")[0])
    assert out.endswith("\n\nSee Also:\n    docs/crewai.md\n" + source.split("docs/crewai.md\n")[1])
    assert "0.1 - 0.2" not in out and "CrewAI 1.0 (expected" not in out
    assert render_block(ISSUES).strip("\n") in docstring(out)


def test_a_block_edited_by_hand_is_replaced_and_the_diff_shows_it(tmp_path: Path):
    path = tmp_path / "crewai.py"
    path.write_text(rewrite('"""CrewAI integration."""\n', BLOCK))
    path.write_text(path.read_text().replace("    None known", "    crewai 2.0 will break us"))
    update = rewrite_file(path, BLOCK, "crewai.py")
    assert update.changed
    assert "-    crewai 2.0 will break us\n+    None known\n" in update.diff()
    update.write()
    assert rewrite_file(path, BLOCK).changed is False


def test_partial_hand_edits_are_found_by_their_headings():
    # headings in another case, a section missing, indented by two: still the block
    source = '"""Doc.\n\nCOMPATIBILITY:\n  crewai: 1 - 2\n\nnext breaking change:\n  none\n"""\n'
    out = rewrite(source, BLOCK)
    assert out == '"""Doc.\n\n' + BLOCK + '"""\n'


def test_headings_without_compatibility_are_not_ours():
    source = '"""Doc.\n\nKnown Issues:\n    our own list\n"""\n'
    out = rewrite(source, BLOCK)
    assert "Known Issues:\n    our own list\n\nCompatibility:" in out


def test_the_block_keeps_the_indentation_of_an_indented_docstring():
    source = '"""Doc.\n\n    Text.\n\n    Compatibility:\n        x: 1\n    """\n'
    out = rewrite(source, BLOCK)
    assert "\n    Compatibility:\n        crewai: 0.80.0 - 1.15.30\n" in out
    assert out.endswith('        None known\n    """\n')


# -- escaping ----------------------------------------------------------------------------------

NASTY = support(
    known_issues=(
        KnownIssue("1.2.0", "failed", 'test_x: assert \'a\\b\' == """c""" and "d"', ()),
        KnownIssue("1.3.0", "failed", "ends with a quote'", ()),
    ),
    next_breaking=(Upcoming("2.0.0rc1", 'C:\\path\\ and \\N{BULLET} """', ""),),
)


@pytest.mark.parametrize(
    "source",
    ['"""Doc."""\n', "'''Doc.'''\n", "'Doc.'\n", '"Doc."\n', "import os\n", '"""Doc.\n\n"""'],
)
def test_quotes_and_backslashes_in_reasons_keep_the_literal_intact(source):
    block = render_block(NASTY)
    out = rewrite(source, block)
    assert rewrite(out, block) == out
    assert block.strip("\n") in docstring(out)  # the value is exactly the block


@pytest.mark.parametrize("source", ['r"""Doc."""\n', "r'''Doc.'''\n", "R'Doc.'\n"])
def test_raw_docstrings_stay_valid(source):
    block = render_block(NASTY)
    out = rewrite(source, block)
    assert rewrite(out, block) == out
    doc = docstring(out)  # parses: no early end of the literal
    assert "C:\\path\\ and \\N{BULLET}" in doc and "1.3.0 fails" in doc


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('"""Doc """ "more"\n', "split into several string literals"),
        ('("""Doc."""\n)\n', "unsupported module docstring shape"),
        ('"""Doc\nnever closed\n', "not valid Python"),
    ],
)
def test_shapes_it_refuses_with_a_message(source, message):
    with pytest.raises(MetadataError, match=message):
        rewrite(source, BLOCK)


# -- files -------------------------------------------------------------------------------------


def test_crlf_file_round_trips_byte_for_byte_outside_the_block(tmp_path: Path):
    path = tmp_path / "crewai.py"
    original = b'#!/usr/bin/env python\r\n"""CrewAI.\r\n\r\nText.\r\n"""\r\n\r\nx = 1  \r\n'
    path.write_bytes(original)
    update = rewrite_file(path, BLOCK, "crewai.py")
    update.write()
    data = path.read_bytes()
    assert data.startswith(
        b'#!/usr/bin/env python\r\n"""CrewAI.\r\n\r\nText.\r\n\r\nCompatibility:'
    )
    assert data.endswith(b'None known\r\n"""\r\n\r\nx = 1  \r\n')
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert rewrite_file(path, BLOCK).changed is False


def test_a_latin1_file_keeps_its_encoding(tmp_path: Path):
    path = tmp_path / "crewai.py"
    path.write_bytes('# -*- coding: latin-1 -*-\n"""Intégration."""\n'.encode("latin-1"))
    rewrite_file(path, BLOCK).write()
    text = path.read_bytes().decode("latin-1")
    assert text.startswith('# -*- coding: latin-1 -*-\n"""Intégration.\n\nCompatibility:')
    issue = KnownIssue("1.2.0", "failed", "日本語", ())
    with pytest.raises(MetadataError, match="encoding \\(iso-8859-1\\)"):
        rewrite_file(path, render_block(support(known_issues=(issue,))))


def test_a_bom_is_kept(tmp_path: Path):
    path = tmp_path / "crewai.py"
    path.write_bytes(b'\xef\xbb\xbf"""Doc."""\n')
    rewrite_file(path, BLOCK).write()
    assert path.read_bytes().startswith(b'\xef\xbb\xbf"""Doc.\n\nCompatibility:')


def test_updates_write_then_check_exit_codes(tmp_path: Path):
    module = tmp_path / "mylib/integrations/crewai.py"
    module.parent.mkdir(parents=True)
    module.write_text('"""CrewAI integration."""\n\nimport os\n')
    other = support(integration="openai", package="openai", file=None)

    code, out = apply(updates([PLAIN, other], tmp_path), write=False)
    assert code == 1 and "+++ b/mylib/integrations/crewai.py" in out and "+Compatibility:" in out
    assert module.read_text() == '"""CrewAI integration."""\n\nimport os\n'  # check never writes

    code, out = apply(updates([PLAIN, other], tmp_path), write=True)
    assert code == 0 and out.startswith("wrote mylib/integrations/crewai.py\n--- a/mylib/")
    assert "+Compatibility:" in out  # what the block replaced is shown
    written = module.read_bytes()

    assert apply(updates([PLAIN], tmp_path), write=False) == (0, "")
    assert apply(updates([PLAIN], tmp_path), write=True) == (
        0,
        "up to date: mylib/integrations/crewai.py\n",
    )
    assert module.read_bytes() == written
    assert not list(tmp_path.rglob("*.tmp"))

    newer = support(highest_passing="1.16.0", last_tested="1.16.0")
    code, out = apply(updates([newer], tmp_path), write=False)
    assert code == 1
    assert "\n-    crewai: 0.80.0 - 1.15.30\n" in out and "\n+    crewai: 0.80.0 - 1.16.0\n" in out


def test_a_missing_file_and_a_shared_file_are_errors(tmp_path: Path):
    with pytest.raises(MetadataError, match="mylib/integrations/crewai.py: no such file"):
        updates([PLAIN], tmp_path)
    (tmp_path / "mylib/integrations").mkdir(parents=True)
    (tmp_path / "mylib/integrations/crewai.py").write_text("")
    twin = support(integration="crewai-tools", package="crewai-tools")
    with pytest.raises(MetadataError, match="both crewai and crewai-tools"):
        updates([PLAIN, twin], tmp_path)
