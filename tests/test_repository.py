"""This repository adopts its own tool: the example library's generated files agree with the
committed verdicts (docs/compatibility-matrix.json) — whatever a local `nox -s matrix` left in
.compat/results, which these tests never read."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from compat import metadata, notices
from compat.matrix import Matrix, load
from compat.report import build_rows, load_known, supports

ROOT = Path(__file__).resolve().parent.parent


def committed(tmp_path: Path) -> tuple[Matrix, list]:
    """The repository's matrix with an empty results dir: only the committed verdicts."""
    matrix = load(ROOT / "compat.toml")
    matrix = replace(matrix, settings=replace(matrix.settings, results_dir=str(tmp_path)))
    known = load_known(matrix)
    assert not known.problems
    return matrix, supports(build_rows(matrix, known.results, None))


def test_metadata_blocks_agree_with_the_committed_verdicts(tmp_path: Path) -> None:
    matrix, facts = committed(tmp_path)
    files = metadata.updates(facts, matrix.root)
    assert len(files) == 4
    assert [f.name for f in files if f.changed] == [], metadata.apply(files, write=False)[1]
    module = (ROOT / "examples/agentkit/agentkit/integrations/crewai.py").read_text()
    assert "Compatibility:\n    crewai: " in module and "Next Breaking Change:" in module


def test_notices_module_agrees_with_the_committed_verdicts(tmp_path: Path) -> None:
    matrix, facts = committed(tmp_path)
    target = matrix.settings.notices
    source = notices.render(facts, category=matrix.settings.notices_category)
    update = notices.update_file(matrix.root / target, source, str(target))
    assert not update.changed, metadata.apply([update], write=False)[1]
