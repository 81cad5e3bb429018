"""Requirement handling of a release tool (packaging)."""

import contextlib

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def check_requirements():
    req = Requirement('acme-sdk[extra]>=1.0,<2; python_version >= "3.8"')
    assert canonicalize_name(req.name) == "acme-sdk"
    assert req.specifier.contains("1.5")
    assert Marker('python_version >= "3"').evaluate()


def check_versions():
    assert Version("2.0rc1").is_prerelease
    assert list(SpecifierSet(">=1").filter(["0.9", "1.1"])) == ["1.1"]
    with contextlib.suppress(InvalidVersion):
        Version("nope")
