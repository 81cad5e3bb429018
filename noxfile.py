"""nox sessions of nox-compat itself: its own compatibility matrix, tests and lint."""

import nox

import compat.nox

nox.options.default_venv_backend = "uv"

compat.nox.register()


@nox.session
def tests(session: nox.Session) -> None:
    """The tool's own test suite (builds a local index; no network)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
