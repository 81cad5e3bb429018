"""The declared range of an upstream, read from pyproject.toml: pure, table-driven."""

from __future__ import annotations

import sys

import pytest
from packaging.specifiers import Specifier
from packaging.version import Version

from compat.declared import declared_range, lower_bound

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


@pytest.mark.parametrize(
    "spec, bound",
    [
        (">=1.2", "1.2"),
        ("~=1.2", "1.2"),
        ("~=1.2.3", "1.2.3"),
        ("==1.2.3", "1.2.3"),
        ("==0.28.*", "0.28"),  # the lowest 0.28.x: 0.28.0, or the first one released
        ("==1.*", "1"),
        ("===1.5", "1.5"),
        (">0.5", "0.5"),  # excluded itself: the plan takes the first release above it
        ("===foo", None),  # an arbitrary string has no order
        ("<2", None),
        ("<=2", None),
        ("!=1.3", None),
        ("!=1.*", None),
    ],
)
def test_lower_bound_of_every_specifier_shape(spec, bound) -> None:
    assert lower_bound(Specifier(spec)) == (Version(bound) if bound else None)


SHAPES = """
[project]
name = "lib"
dependencies = [
    "client==0.28.*",
    "pytest==9.*",
    "tiny~=2.3",
    "exact===1.5",
    "after>0.5",
    "both>=0.25,==0.28.*",
    "capped<2",
]
"""


@pytest.mark.parametrize(
    "package, floor",
    [
        ("client", ("0.28", "pyproject.toml:5")),
        ("pytest", ("9", "pyproject.toml:6")),
        ("tiny", ("2.3", "pyproject.toml:7")),
        ("exact", ("1.5", "pyproject.toml:8")),
        ("after", ("0.5", "pyproject.toml:9")),
        ("both", ("0.28", "pyproject.toml:10")),  # the highest bound of a combined specifier
        ("capped", None),
    ],
)
def test_floor_of_every_specifier_shape(package, floor) -> None:
    assert declared(SHAPES, package).floor(("3.12",)) == floor


@pytest.mark.parametrize(
    "package, versions, lowest",
    [
        ("client", ["0.27.2", "0.28.0", "0.28.1", "0.29.0"], "0.28.0"),
        ("client", ["0.27.2", "0.28.1", "0.29.0"], "0.28.1"),  # 0.28.0 never released
        ("after", ["0.4", "0.5", "0.5.1", "0.6"], "0.5.1"),  # >0.5: the first one above
        ("pytest", ["8.4.2", "9.0.0", "9.1.0"], "9.0.0"),
        ("client", ["0.27.2", "0.29.0"], None),  # nothing the range admits
    ],
)
def test_lowest_release_the_floor_admits(package, versions, lowest) -> None:
    rng = declared(SHAPES, package)
    floor, _ = rng.floor(("3.12",))
    found = rng.lowest_release(floor, [Version(v) for v in versions], ("3.12",))
    assert found == (Version(lowest) if lowest else None)


def test_caps_of_every_shape_and_sources() -> None:
    assert declared(SHAPES, "client").upper_bounds("3.12") == ["==0.28.*"]
    assert declared(SHAPES, "tiny").upper_bounds("3.12") == ["~=2.3"]
    assert declared(PYPROJECT).sources == ("pyproject.toml:6", "pyproject.toml:11")
