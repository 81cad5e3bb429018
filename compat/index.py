"""Package-index client: PEP 691 JSON simple API (PEP 503 HTML fallback), PEP 700 fields.

Responses are kept in an on-disk HTTP cache (cachecontrol): a page still fresh
makes no request, a stale one is revalidated with its ETag, and when the index
cannot be reached (or ``offline`` is set) the cached page is used and said so.
Pages an index sends without caching headers are kept for ``HEURISTIC_SECONDS``
all the same, so that the fallback works against any index. An answer that is not
a package index page (invalid JSON, an empty body, a login page) is an
``IndexFailure`` naming the index, never an empty list of releases.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests
from cachecontrol import CacheControlAdapter
from cachecontrol.caches import SeparateBodyFileCache
from cachecontrol.heuristics import BaseHeuristic
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compat.errors import IndexFailure
from compat.text import redact

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
FOREVER = "max-age=315360000"  # "any cached copy will do", used when offline
HEURISTIC_SECONDS = 600  # freshness of index pages sent without caching headers
logging.getLogger("cachecontrol").setLevel(logging.ERROR)  # its own warnings are ours to report


@dataclass(frozen=True)
class File:
    filename: str
    url: str
    requires_python: SpecifierSet | None
    yanked: bool | str
    upload_time: datetime | None
    sha256: str | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass(frozen=True)
class Release:
    version: Version
    files: tuple[File, ...]

    @property
    def yanked(self) -> bool:
        """PEP 592: a release is yanked when all its files are."""
        return all(f.yanked is not False for f in self.files)

    @property
    def requires_python(self) -> SpecifierSet | None:
        specs = [f.requires_python for f in self.files if f.requires_python is not None]
        return specs[0] if specs else None

    @property
    def upload_time(self) -> datetime | None:
        times = [f.upload_time for f in self.files if f.upload_time]
        return min(times) if times else None

    def admits(self, python: str) -> bool:
        """Whether this release's requires-python allows Python ``X.Y``."""
        spec = self.requires_python
        return (
            spec is None
            or spec.contains(f"{python}.0", prereleases=True)
            or spec.contains(f"{python}.99", prereleases=True)
        )


@dataclass(frozen=True)
class Project:
    name: str
    releases: tuple[Release, ...]  # ascending by version
    from_cache: bool = False  # True when served from the cache because the index was not reached
    fresh_until: float = 0.0  # until when (epoch seconds) the page may be used without asking

    def release(self, version: str | Version) -> Release | None:
        wanted = Version(str(version))
        return next((r for r in self.releases if r.version == wanted), None)

    def as_of(self, when: datetime) -> Project:
        """The project as the index showed it before ``when``, as uv's ``--exclude-newer`` sees
        it: files uploaded then or later, or without an upload time, are left out."""
        releases = []
        for release in self.releases:
            files = tuple(f for f in release.files if f.upload_time and f.upload_time < when)
            if files:
                releases.append(Release(release.version, files))
        return Project(self.name, tuple(releases), self.from_cache, self.fresh_until)


class _KeepUncachable(BaseHeuristic):
    """Give index pages without Cache-Control or Expires a short freshness of their own."""

    def update_headers(self, response) -> dict[str, str]:
        headers = response.headers
        if response.status == 200 and "cache-control" not in headers and "expires" not in headers:
            return {"cache-control": f"max-age={HEURISTIC_SECONDS}"}
        return {}

    def warning(self, response) -> str | None:
        return None


def default_cache_dir() -> Path:
    if os.environ.get("COMPAT_CACHE_DIR"):
        return Path(os.environ["COMPAT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nox-compat"


class IndexClient:
    """Reads project pages from one simple index, through an on-disk HTTP cache."""

    def __init__(
        self,
        index_url: str,
        *,
        cache_dir: Path | None = None,
        offline: bool = False,
        refresh: bool = False,
        timeout: float | None = None,
    ) -> None:
        self.index_url = index_url.rstrip("/") + "/"
        self.offline = offline
        self.refresh = refresh  # revalidate even fresh cached pages
        self.timeout = timeout or float(os.environ.get("COMPAT_INDEX_TIMEOUT") or 30)
        self.cache_dir = cache_dir or default_cache_dir()
        self.adapter = CacheControlAdapter(
            cache=SeparateBodyFileCache(str(self.cache_dir / "http")),
            max_retries=2,
            heuristic=_KeepUncachable(),
        )
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "nox-compat"
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)

    @property
    def shown_url(self) -> str:
        """The index URL without credentials, for messages."""
        return redact(self.index_url)

    def raw_page(self, name: str) -> tuple[requests.Response, str]:
        """The project page of ``name`` as the index sent it (through the cache), and its URL."""
        url = urljoin(self.index_url, canonicalize_name(name) + "/")
        return self._get(url, name)[0], url

    def project(self, name: str) -> Project:
        url = urljoin(self.index_url, canonicalize_name(name) + "/")
        response, from_cache = self._get(url, name)
        where = f"{self.shown_url} (page of {name!r})"
        if "json" in response.headers.get("Content-Type", ""):
            try:
                data = response.json()
            except ValueError:
                raise IndexFailure(f"{where}: the answer is not valid JSON") from None
            files = _files_from_json(data, url, where)
        else:
            files = _files_from_html(response.text, url, where)
        if not files:
            raise IndexFailure(f"{where}: the index lists no files for {name!r}")
        fresh = 0.0 if from_cache else _fresh_until(response.headers)
        return Project(name, _group(files, name), from_cache, fresh)

    def projects(self, names: list[str]) -> dict[str, Project]:
        """Several projects, fetched concurrently; raises the first error."""
        unique = list(dict.fromkeys(names))
        with ThreadPoolExecutor(max_workers=min(8, len(unique) or 1)) as pool:
            return dict(zip(unique, pool.map(self.project, unique), strict=True))

    def download(self, file: File, dest: Path) -> Path:
        """Download one distribution file into ``dest`` (kept; not re-downloaded)."""
        target = dest / file.filename
        if not target.exists():
            dest.mkdir(parents=True, exist_ok=True)
            response = requests.get(file.url, timeout=self.timeout * 4)
            response.raise_for_status()
            tmp = target.with_suffix(".part")
            tmp.write_bytes(response.content)
            tmp.replace(target)
        return target

    def _get(self, url: str, name: str) -> tuple[requests.Response, bool]:
        headers = {"Accept": ACCEPT, **({"Cache-Control": "no-cache"} if self.refresh else {})}
        if not self.offline:
            try:
                response = self.session.get(url, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                reason = f"cannot reach {self.shown_url} ({type(exc).__name__})"
            else:
                if response.status_code == 404:
                    raise IndexFailure(f"package {name!r} not found on the index {self.shown_url}")
                if response.ok:
                    return response, False
                reason = f"{self.shown_url} answered {response.status_code} for {name!r}"
        else:
            reason = "offline"
        cached = self._cached(url, headers)
        if cached is None:
            raise IndexFailure(
                f"{reason}, and no cached copy of {name!r} in {self.cache_dir} "
                "(run once with the index reachable to fill the cache)"
            )
        print(f"compat: {reason}; using the cached index page of {name!r}", file=sys.stderr)
        return cached, True

    def _cached(self, url: str, headers: dict[str, str]) -> requests.Response | None:
        request = requests.Request("GET", url, headers={**headers, "Cache-Control": FOREVER})
        prepared = self.session.prepare_request(request)
        raw = self.adapter.controller.cached_request(prepared)
        return self.adapter.build_response(prepared, raw, from_cache=True) if raw else None


@functools.lru_cache(maxsize=65536)
def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@functools.lru_cache(maxsize=1024)
def _specifier(value: object) -> SpecifierSet | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return SpecifierSet(value)
    except InvalidSpecifier:
        return None  # broken metadata on the index: treat as unconstrained


def _files_from_json(data: object, base: str, where: str) -> list[File]:
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise IndexFailure(f"{where}: not a PEP 691 project page (no list of files)")
    found = []
    for item in files:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("filename"), str)
            and isinstance(item.get("url"), str)
        ):
            raise IndexFailure(f"{where}: not a PEP 691 project page (a file without a name)")
        hashes = item.get("hashes") if isinstance(item.get("hashes"), dict) else {}
        yanked = item.get("yanked", False)
        found.append(
            File(
                filename=item["filename"],
                url=_absolute(base, item["url"]),
                requires_python=_specifier(item.get("requires-python")),
                yanked=yanked if isinstance(yanked, str) and yanked else bool(yanked),
                upload_time=_parse_time(item.get("upload-time")),
                sha256=hashes.get("sha256") if isinstance(hashes.get("sha256"), str) else None,
            )
        )
    return found


def _fresh_until(headers) -> float:
    """When a page stops being fresh, from its Date and Cache-Control max-age (0: unknown)."""
    match = re.search(r"max-age=(\d+)", headers.get("Cache-Control", ""))
    try:
        date = parsedate_to_datetime(headers["Date"]).timestamp() if "Date" in headers else None
    except (TypeError, ValueError):
        date = None
    if match is None or date is None:
        return 0.0
    return date + int(match.group(1))


def _absolute(base: str, url: str) -> str:
    return url if url.startswith(("https://", "http://")) else urljoin(base, url)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []
        self.forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag in ("form", "input"):
            self.forms += 1


def _files_from_html(text: str, base: str, where: str) -> list[File]:
    if not text.strip():
        raise IndexFailure(f"{where}: the index answered an empty page")
    parser = _Anchors()
    parser.feed(text)
    if parser.forms and not parser.anchors:
        raise IndexFailure(
            f"{where}: the index answered an HTML form, not a project page "
            "(a login page? check the index URL and its credentials)"
        )
    files = []
    for attrs in parser.anchors:
        href = attrs.get("href") or ""
        url, _, fragment = urljoin(base, href).partition("#")
        yanked = attrs.get("data-yanked")
        files.append(
            File(
                filename=url.rsplit("/", 1)[-1],
                url=url,
                requires_python=_specifier(attrs.get("data-requires-python")),
                yanked=False if yanked is None else (yanked or True),
                upload_time=None,
                sha256=fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else None,
            )
        )
    return files


@functools.lru_cache(maxsize=4096)
def _parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


@functools.lru_cache(maxsize=4096)
def _file_prefix(name: str) -> str:
    """A distribution name as file names spell it after normalising: ``acme_sdk``."""
    return canonicalize_name(name).replace("-", "_")


def _version_of(filename: str, prefix: str) -> Version | None:
    """The version in a wheel or sdist file name (None: not a file of ``prefix``)."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        if len(parts) in (5, 6) and _file_prefix(parts[0]) == prefix:
            return _parse_version(parts[1])
        return None
    for suffix in (".tar.gz", ".zip", ".tar.bz2", ".tgz"):
        if filename.endswith(suffix):
            name, _, version = filename[: -len(suffix)].rpartition("-")
            return _parse_version(version) if _file_prefix(name) == prefix else None
    return None


def _group(files: list[File], project: str) -> tuple[Release, ...]:
    prefix = _file_prefix(project)
    by_version: dict[Version, list[File]] = {}
    for file in files:
        version = _version_of(file.filename, prefix)
        if version is not None:
            by_version.setdefault(version, []).append(file)
    return tuple(Release(v, tuple(fs)) for v, fs in sorted(by_version.items()))
