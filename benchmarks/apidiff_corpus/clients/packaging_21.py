"""Version handling of a release tool, written for packaging 21."""

from packaging.specifiers import SpecifierSet
from packaging.version import Version, parse


def check_versions():
    assert Version("1.10") > Version("1.9")
    assert "1.5" in SpecifierSet(">=1.0,<2")


def check_legacy_version():
    from packaging.version import LegacyVersion

    assert LegacyVersion("foo") < Version("1.0")


def check_parse_anything():
    assert str(parse("not-a-version")) == "not-a-version"
