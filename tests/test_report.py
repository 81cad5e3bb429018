"""The generated block of the docs page: markers, hand-written text, atomic writes."""

from __future__ import annotations

from pathlib import Path

from compat.report import BEGIN, END, HEADER, update_markdown

BLOCK = f"{BEGIN}\ngenerated\n{END}\n"


def test_absent_file_gets_a_short_header(tmp_path: Path) -> None:
    path = tmp_path / "docs/compatibility-matrix.md"
    update_markdown(path, BLOCK)
    assert path.read_text() == HEADER + BLOCK


def test_file_without_markers_keeps_its_text_and_gets_the_block(tmp_path: Path) -> None:
    path = tmp_path / "matrix.md"
    path.write_text("# Ours\n\nNotes.\n")
    update_markdown(path, BLOCK)
    assert path.read_text() == "# Ours\n\nNotes.\n\n" + BLOCK


def test_regeneration_replaces_only_between_markers(tmp_path: Path) -> None:
    path = tmp_path / "matrix.md"
    path.write_text(f"intro\n{BEGIN}\nold\n{END}\noutro\n")
    update_markdown(path, BLOCK)
    update_markdown(path, BLOCK)
    assert path.read_text() == f"intro\n{BLOCK}outro\n"
    assert [p.name for p in tmp_path.iterdir()] == ["matrix.md"]  # no temporary files left
