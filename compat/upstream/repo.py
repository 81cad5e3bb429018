"""The GitHub repository of a package, from the project URLs of its latest release."""

from __future__ import annotations

import re
import tarfile
import zipfile
from collections.abc import Iterable
from email.parser import HeaderParser
from pathlib import Path

import requests

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
    """The core metadata of the newest release with a wheel (else an sdist).

    Uses the PEP 658 ``<file>.metadata`` when the index serves it, else downloads
    the file with ``IndexClient.download`` and reads it from the archive.
    """
    for release in reversed(project.releases):
        if release.yanked or release.version.is_prerelease:
            continue
        files = sorted(release.files, key=lambda f: not f.is_wheel)
        for file in files:
            if file.is_wheel or file.filename.endswith(".tar.gz"):
                return _core_metadata(client, file) or _from_archive(client, file)
    return None


def find_repo(client: IndexClient, project: Project) -> str | None:
    text = latest_metadata(client, project)
    return github_repo(metadata_urls(text)) if text else None


def _core_metadata(client: IndexClient, file: File) -> str | None:
    if not file.is_wheel:
        return None
    try:
        response = client.session.get(file.url + ".metadata", timeout=client.timeout)
    except requests.RequestException:
        return None
    return response.text if response.ok else None


def _from_archive(client: IndexClient, file: File) -> str | None:
    try:
        path = client.download(file, client.cache_dir / "dists")
    except requests.RequestException as exc:
        raise IndexFailure(f"cannot download {file.filename} ({type(exc).__name__})") from None
    try:
        return _read_metadata(path)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, UnicodeDecodeError) as exc:
        raise IndexFailure(f"cannot read the metadata of {file.filename}: {exc}") from None


def _read_metadata(path: Path) -> str | None:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                    return archive.read(name).decode("utf-8")
        return None
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                extracted = archive.extractfile(member)
                return extracted.read().decode("utf-8") if extracted else None
    return None
