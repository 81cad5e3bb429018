"""Release notes from GitHub, matched to package versions by their tag."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compat.github import GitHub

MARGIN = timedelta(days=30)  # a tag may be created well before the upload to the index


def tag_version(tag: str, package: str) -> tuple[Version, int] | None:
    """The version a tag names for ``package`` and how specific the tag is (higher: more).

    Recognised: ``1.2.3``, ``v1.2.3``, ``python-v1.2.3``, ``<pkg>-v1.2.3``,
    ``<pkg>-1.2.3``, ``<pkg>==1.2.3``, ``<pkg>@1.2.3`` (any spelling of the name).
    """
    text = tag.strip().lower()
    canonical = canonicalize_name(package)
    names = dict.fromkeys([package.lower(), canonical, canonical.replace("-", "_")])
    prefixes = [(f"{n}{sep}", 3) for n in names for sep in ("==", "-v", "-", "@", "/v", "/")]
    prefixes += [("python-v", 2), ("python/v", 2), ("v", 1), ("", 1)]
    for prefix, specificity in prefixes:
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            if rest[:1].isdigit():
                try:
                    return Version(rest), specificity
                except InvalidVersion:
                    continue
    return None


def match_releases(
    releases: Iterable[dict],
    package: str,
    versions: Iterable[Version],
    *,
    oldest: datetime | None = None,
) -> dict[Version, dict]:
    """The GitHub release of each wanted version, by tag (else by release name).

    ``releases`` are read lazily, newest first; reading stops once every version
    is found with a package-specific tag, or once releases are older than
    ``oldest`` minus a margin.
    """
    wanted = set(versions)
    found: dict[Version, tuple[int, dict]] = {}
    for release in releases:
        if release.get("draft"):
            continue
        for text in (release.get("tag_name") or "", release.get("name") or ""):
            hit = tag_version(text, package)
            if hit and hit[0] in wanted:
                version, specificity = hit
                if version not in found or specificity > found[version][0]:
                    found[version] = (specificity, release)
                break
        if wanted and all(v in found and found[v][0] == 3 for v in wanted):
            break
        published = _time(release.get("published_at") or release.get("created_at"))
        if oldest and published and published < oldest - MARGIN:
            break
    return {v: release for v, (_, release) in found.items()}


def release_notes(
    github: GitHub,
    repo: str,
    package: str,
    versions: Iterable[Version],
    *,
    oldest: datetime | None = None,
) -> dict[Version, dict]:
    """Fetch the releases of ``repo`` (as many pages as needed) and match ``versions``."""
    wanted = list(versions)
    if not wanted:
        return {}
    return match_releases(github.releases(repo), package, wanted, oldest=oldest)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
