"""The GitHub repository of a package, from the project URLs of its latest release."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.parser import HeaderParser

import requests

from compat.apidiff.dists import core_metadata, pick_file, unpacked
from compat.apidiff.model import ApiDiffError
from compat.index import File, IndexClient, IndexFailure, Project

# Project-URL labels, most telling first (compared lowercase, without punctuation or spaces).
LABELS = (
    "source", "sourcecode", "repository", "code", "github", "changelog", "changes",
    "releasenotes", "releases", "homepage", "home", "issues", "bugtracker", "tracker",
)  # fmt: skip
_GITHUB = re.compile(r"^https?://(?:www\.)?github\.com/([\w.-]+)/([\w.-]+)", re.IGNORECASE)
_NOT_OWNERS = {"sponsors", "orgs", "apps", "marketplace", "features", "topics", "settings"}


def github_repo(urls: Iterable[tuple[str, str]]) -> str | None:
    """``owner/name`` from (label, url) pairs, preferring the labels in ``LABELS`` order."""
    found: list[tuple[int, str]] = []
    for label, url in urls:
        match = _GITHUB.match(url.strip())
        if not match or match.group(1).lower() in _NOT_OWNERS:
            continue
        key = re.sub(r"[^a-z]", "", label.lower())
        order = LABELS.index(key) if key in LABELS else len(LABELS)
        found.append((order, f"{match.group(1)}/{match.group(2).removesuffix('.git')}"))
    return min(found)[1] if found else None


def metadata_urls(text: str) -> list[tuple[str, str]]:
    """(label, url) pairs of a METADATA / PKG-INFO file: Project-URL and Home-page."""
    message = HeaderParser().parsestr(text)
    pairs = []
    for value in message.get_all("Project-URL") or []:
        label, _, url = value.partition(",")
        pairs.append((label.strip(), url.strip()))
    if message.get("Home-page"):
        pairs.append(("Homepage", message["Home-page"].strip()))
    return pairs


def latest_metadata(client: IndexClient, project: Project) -> str | None:
    """The core metadata of the newest final release that is not yanked.

    Uses the PEP 658 ``<file>.metadata`` when the index serves it, else the release's
    archive, downloaded and unpacked once into the cache (``compat.apidiff.dists``, shared
    with the API diff).
    """
    for release in reversed(project.releases):
        if release.yanked or release.version.is_prerelease:
            continue
        file = pick_file(release.files)
        if file is None:
            continue
        text = _core_metadata(client, file)
        if text is not None:
            return text
        try:
            return core_metadata(unpacked(client, project.name, str(release.version)))
        except ApiDiffError as exc:
            raise IndexFailure(f"cannot read the metadata of {file.filename}: {exc}") from None
    return None


def find_repo(client: IndexClient, project: Project) -> str | None:
    text = latest_metadata(client, project)
    return github_repo(metadata_urls(text)) if text else None


def _core_metadata(client: IndexClient, file: File) -> str | None:
    if not file.is_wheel or client.offline:
        return None
    try:
        response = client.session.get(file.url + ".metadata", timeout=client.timeout)
    except requests.RequestException:
        return None
    return response.text if response.ok else None
