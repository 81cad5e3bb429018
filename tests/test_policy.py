"""The support policy on tricky version histories (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from compat.matrix import Policy
from compat.policy import PolicyError, scheme, select


@dataclass
class R:
    version: Version
    yanked: bool = False


def history(*versions: str, yanked: tuple[str, ...] = ()) -> list[R]:
    return [R(Version(v), v in yanked) for v in versions]


def picks(releases, minimum, **kwargs) -> list[tuple[str, str]]:
    kwargs.setdefault("policy", Policy())
    return [(p.label, str(p.version)) for p in select(releases, minimum=minimum, **kwargs)]


SEMVER = history(
    "0.9.0", "1.0.0", "1.1.0", "1.1.1", "1.2.0", "1.2.3", "1.3.0",
    "2.0.0", "2.1.0", "2.1.4", "2.2.0", "2.2.1", "2.3.0rc1",
)  # fmt: skip


def test_semver_latest_two_majors_two_minors() -> None:
    assert picks(SEMVER, "1.0.0") == [
        ("min", "1.0.0"),
        ("1.2", "1.2.3"),
        ("1.3", "1.3.0"),
        ("2.1", "2.1.4"),
        ("latest", "2.2.1"),
    ]


def test_policy_sizes() -> None:
    assert picks(SEMVER, "1.0.0", policy=Policy(majors=1, minors=3)) == [
        ("min", "1.0.0"),
        ("2.0", "2.0.0"),
        ("2.1", "2.1.4"),
        ("latest", "2.2.1"),
    ]


def test_minimum_bounds_the_selection() -> None:
    assert picks(SEMVER, "2.1.0") == [("min", "2.1.0"), ("2.1", "2.1.4"), ("latest", "2.2.1")]


def test_yanked_never_selected() -> None:
    releases = history("1.0.0", "1.1.0", "1.1.1", "1.2.0", yanked=("1.1.1", "1.2.0"))
    assert picks(releases, "1.0.0") == [("min", "1.0.0"), ("latest", "1.1.0")]


def test_yanked_minimum_is_kept_and_said() -> None:
    releases = history("1.0.0", "1.1.0", yanked=("1.0.0",))
    chosen = select(releases, minimum="1.0.0", policy=Policy())
    assert chosen[0].label == "min" and "yanked" in chosen[0].why


def test_prereleases_only_when_asked() -> None:
    assert ("pre", "2.3.0rc1") not in picks(SEMVER, "1.0.0")
    assert picks(SEMVER, "2.2.0", prereleases=True) == [
        ("min", "2.2.0"),
        ("latest", "2.2.1"),
        ("pre", "2.3.0rc1"),
    ]


def test_old_prerelease_is_not_pre() -> None:
    releases = history("1.0.0", "2.0.0b1", "2.0.0")
    assert picks(releases, "1.0.0", prereleases=True) == [("min", "1.0.0"), ("latest", "2.0.0")]


def test_exclusions_honoured() -> None:
    chosen = picks(SEMVER, "1.0.0", exclude=SpecifierSet("!=2.2.1,!=1.3.*"))
    assert chosen == [
        ("min", "1.0.0"),
        ("1.1", "1.1.1"),
        ("1.2", "1.2.3"),
        ("2.1", "2.1.4"),
        ("latest", "2.2.0"),
    ]


def test_excluded_minimum_is_an_error() -> None:
    with pytest.raises(PolicyError, match="minimum 1.0.0 is excluded by versions"):
        select(SEMVER, minimum="1.0.0", policy=Policy(), exclude=SpecifierSet("!=1.0.0"))


def test_minimum_must_exist() -> None:
    with pytest.raises(
        PolicyError,
        match=r"minimum 1.2.1 does not exist on the index \(versions of that series: 1.2.0, 1.2.3\)",
    ):
        select(SEMVER, minimum="1.2.1", policy=Policy())


def test_minimum_normalised() -> None:
    assert picks(history("1.0", "1.1"), "1.0.0") == [("min", "1.0"), ("latest", "1.1")]


def test_min_equals_latest_both_exist() -> None:
    assert picks(history("0.1.0", "1.0.0"), "1.0.0") == [("min", "1.0.0"), ("latest", "1.0.0")]


def test_no_release_at_or_above_minimum() -> None:
    releases = history("1.0.0", "1.1.0", yanked=("1.1.0",))
    with pytest.raises(PolicyError, match="no usable final release"):
        select(releases, minimum="1.1.0", policy=Policy())


def test_series_equal_to_min_or_latest_collapse() -> None:
    # 1.3's newest patch is the minimum, 2.2's is latest: neither gets a second name.
    releases = history("1.3.0", "2.0.0", "2.2.0")
    assert picks(releases, "1.3.0") == [("min", "1.3.0"), ("2.0", "2.0.0"), ("latest", "2.2.0")]


def test_zerover_each_minor_is_a_major() -> None:
    releases = history("0.4.2", "0.4.9", "0.5.0", "0.5.7", "0.6.1", "0.6.4", "0.7.0", "0.7.5")
    assert scheme(Version("0.7.5")) == "zerover"
    assert picks(releases, "0.4.2") == [("min", "0.4.2"), ("0.6", "0.6.4"), ("latest", "0.7.5")]
    assert picks(releases, "0.4.2", policy=Policy(majors=3)) == [
        ("min", "0.4.2"),
        ("0.5", "0.5.7"),
        ("0.6", "0.6.4"),
        ("latest", "0.7.5"),
    ]


def test_zero_major_after_one_is_a_previous_major() -> None:
    releases = history("0.201.1", "0.202.0", "0.203.2", "1.0.0", "1.14.7", "1.15.30")
    assert picks(releases, "0.201.1") == [
        ("min", "0.201.1"),
        ("0.202", "0.202.0"),
        ("0.203", "0.203.2"),
        ("1.14", "1.14.7"),
        ("latest", "1.15.30"),
    ]


def test_calver_ignores_year_boundaries() -> None:
    releases = history("2025.9.1", "2025.11.3", "2025.12.1", "2026.1.5", "2026.10.20", "2026.10.21")
    assert scheme(Version("2026.10.20")) == "calver"
    assert picks(releases, "2025.9.1", policy=Policy(majors=1, minors=3)) == [
        ("min", "2025.9.1"),
        ("2025.12", "2025.12.1"),
        ("2026.1", "2026.1.5"),
        ("latest", "2026.10.21"),
    ]


def test_single_release() -> None:
    assert picks(history("3.0.0"), "3.0.0") == [("min", "3.0.0"), ("latest", "3.0.0")]
