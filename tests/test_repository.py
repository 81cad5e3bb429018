"""This repository adopts its own tool: the example library's generated files are current."""

from __future__ import annotations

from pathlib import Path

from compat.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "compat.toml")


def test_metadata_blocks_agree_with_the_committed_verdicts(capsys) -> None:
    assert main(["metadata", "--check", "--offline", "--config", CONFIG]) == 0, capsys.readouterr()
    module = (ROOT / "examples/agentkit/agentkit/integrations/crewai.py").read_text()
    assert "Compatibility:\n    crewai: " in module and "Next Breaking Change:" in module


def test_notices_module_agrees_with_the_committed_verdicts(capsys) -> None:
    assert main(["notices", "--check", "--offline", "--config", CONFIG]) == 0, capsys.readouterr()
