"""This repository adopts its own tool: the example library's generated files (metadata blocks,
notices module) agree with the verdicts they were generated from.

Those are the committed verdicts (docs/compatibility-matrix.json at HEAD) while the example's
files are as committed — so a local `nox -s matrix`, which rewrites the docs and leaves
results in .compat/, changes nothing here — and the working tree's verdicts once the
example's files were regenerated locally. Local results are never read.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

from compat import metadata, notices
from compat.matrix import Matrix, load
from compat.report import build_rows, load_known, supports

ROOT = Path(__file__).resolve().parent.parent
DOCS_JSON = "docs/compatibility-matrix.json"
GENERATED = "examples/agentkit"


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


def verdicts() -> str:
    """The docs JSON the example's generated files go with."""
    unchanged = git("diff", "--quiet", "HEAD", "--", GENERATED).returncode == 0
    committed = git("show", f"HEAD:{DOCS_JSON}")
    if unchanged and committed.returncode == 0:
        return committed.stdout
    return (ROOT / DOCS_JSON).read_text(encoding="utf-8")  # regenerated here, or no git


def facts(tmp_path: Path) -> tuple[Matrix, list]:
    """The repository's matrix reading only those verdicts (an empty results dir)."""
    docs = tmp_path / "docs/compatibility-matrix.md"
    docs.parent.mkdir()
    docs.with_suffix(".json").write_text(verdicts(), encoding="utf-8")
    matrix = load(ROOT / "compat.toml")
    settings = replace(matrix.settings, results_dir=str(tmp_path / "results"), docs=str(docs))
    matrix = replace(matrix, settings=settings)
    known = load_known(matrix)
    assert not known.problems
    return matrix, supports(build_rows(matrix, known.results, None))


def test_metadata_blocks_agree_with_the_committed_verdicts(tmp_path: Path) -> None:
    matrix, found = facts(tmp_path)
    files = metadata.updates(found, matrix.root)
    assert len(files) == 4
    assert [f.name for f in files if f.changed] == [], metadata.apply(files, write=False)[1]
    module = (ROOT / "examples/agentkit/agentkit/integrations/crewai.py").read_text()
    assert "Compatibility:\n    crewai: " in module and "Next Breaking Change:" in module


def test_notices_module_agrees_with_the_committed_verdicts(tmp_path: Path) -> None:
    matrix, found = facts(tmp_path)
    target = matrix.settings.notices
    source = notices.render(found, category=matrix.settings.notices_category)
    update = notices.update_file(matrix.root / target, source, str(target))
    assert not update.changed, metadata.apply([update], write=False)[1]
