"""What the README tells users to copy works as written."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def block(language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(found) == 1, f"expected one {language} block in the README"
    return found[0]


def test_the_gitignore_snippet_ignores_the_state_folder(tmp_path: Path) -> None:
    """git has no trailing comments: `.compat/  # …` would ignore nothing."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(block("gitignore"))
    for path in (".compat/results/compat-acme-min-3.12.json", ".compat/venvs/acme-min-3.12/x"):
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=tmp_path)
        assert done.returncode == 0, f"{path} is not ignored by the README's .gitignore lines"


def test_the_quick_start_creates_the_virtualenv_it_uses() -> None:
    starts = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[:2]
    assert len(starts) == 2  # the matrix of this repository, then the tool's own tests
    for commands in starts:
        lines = commands.strip().splitlines()
        assert lines[0] == "python3 -m venv .venv && . .venv/bin/activate"
        assert lines[1] == 'python -m pip install -e ".[dev]"'
