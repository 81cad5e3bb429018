"""The declared range of an upstream, read from pyproject.toml: pure, table-driven."""

from __future__ import annotations

import sys

import pytest

from compat.declared import declared_range

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def declared(text: str, package: str = "httpx"):
    return declared_range(package, tomllib.loads(text), text.splitlines(), "pyproject.toml")


PYPROJECT = """
[project]
name = "lib"
dependencies = [
    "requests",
    "httpx>=0.18,<=0.23.0,!=0.20.1",
    "wrapt>=1.0; python_version < '3.12'",
    "wrapt>=1.14; python_version >= '3.12'",
]
[project.optional-dependencies]
http2 = ["HTTPX[http2]>=0.19"]
[dependency-groups]
test = ["pytest", {include-group = "lint"}, "Acme_SDK~=2.3"]
lint = ["ruff"]
"""


@pytest.mark.parametrize(
    "package, version, python, inside",
    [
        ("httpx", "0.18.0", "3.12", False),  # the extra raises the floor to 0.19
        ("httpx", "0.19.0", "3.12", True),
        ("httpx", "0.20.1", "3.12", False),  # excluded
        ("httpx", "0.23.0", "3.12", True),
        ("httpx", "0.24.0", "3.12", False),  # beyond the cap
        ("wrapt", "1.0", "3.11", True),
        ("wrapt", "1.0", "3.12", False),  # the marker for 3.12 asks for more
        ("wrapt", "1.14", "3.12", True),
        ("acme-sdk", "2.9", "3.12", True),  # a dependency group
        ("acme-sdk", "3.0", "3.12", False),
        ("requests", "0.1", "3.12", True),  # named without a specifier: everything
        ("unknown", "1.0", "3.12", True),  # not declared at all: no range
    ],
)
def test_contains(package, version, python, inside) -> None:
    assert declared(PYPROJECT, package).contains(version, python) is inside


@pytest.mark.parametrize(
    "package, pythons, floor",
    [
        ("httpx", ("3.12",), ("0.19", "pyproject.toml:11")),
        ("wrapt", ("3.11", "3.12"), ("1.0", "pyproject.toml:7")),  # the lowest over the Pythons
        ("wrapt", ("3.12",), ("1.14", "pyproject.toml:8")),
        ("acme-sdk", ("3.12",), ("2.3", "pyproject.toml:13")),
        ("requests", ("3.12",), None),
    ],
)
def test_floor(package, pythons, floor) -> None:
    assert declared(PYPROJECT, package).floor(pythons) == floor


def test_upper_bounds_and_text() -> None:
    httpx = declared(PYPROJECT)
    assert httpx.upper_bounds("3.12") == ["<=0.23.0"]
    assert str(httpx.specifier("3.12")) == "!=0.20.1,<=0.23.0,>=0.18,>=0.19"
    assert not declared(PYPROJECT, "unknown") and declared(PYPROJECT, "httpx")
