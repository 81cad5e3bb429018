"""A tiny local package index for tests.

Builds deterministic wheels and sdists from in-memory ``Release`` descriptions
and serves them from a threaded HTTP server on 127.0.0.1 that speaks the
"simple" repository API: PEP 503 HTML and PEP 691 JSON (with the PEP 700
additions), chosen by the request's ``Accept`` header.

Typical use::

    server = IndexServer(tmp_path / "index").start()
    server.add(Release("acme-sdk", "1.2.0"), Release("acme-sdk", "1.3.0", yanked=True))
    # uv pip install --index-url server.simple_url ...
    server.stop()
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import html
import io
import json
import re
import secrets
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html"
# Media types (as listed in an Accept header) that mean "give me JSON" / "give me HTML".
_JSON_ACCEPTS = {JSON_TYPE, "application/vnd.pypi.simple.latest+json"}
_HTML_ACCEPTS = {
    "text/html",
    "application/vnd.pypi.simple.v1+html",
    "application/vnd.pypi.simple.latest+html",
}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIRST_UPLOAD = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class Release:
    """One version of a distribution, published as one wheel (or one sdist)."""

    name: str
    version: str
    modules: dict[str, str] = field(default_factory=dict)
    requires_python: str | None = None
    requires: list[str] = field(default_factory=list)
    yanked: bool | str = False
    upload_time: str | None = None
    sdist_only: bool = False
    project_urls: dict[str, str] = field(default_factory=dict)
    entry_points: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> name -> ref

    def __post_init__(self) -> None:
        if not self.modules:
            package = _file_name(self.name)
            self.modules = {f"{package}/__init__.py": f'__version__ = "{self.version}"\n'}


def _file_name(name: str) -> str:
    """The distribution name as it appears in file names: ``acme-sdk`` -> ``acme_sdk``."""
    return canonicalize_name(name).replace("-", "_")


def _stem(release: Release) -> str:
    return f"{_file_name(release.name)}-{Version(release.version)}"


def _metadata(release: Release, metadata_version: str) -> str:
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {release.name}",
        f"Version: {release.version}",
    ]
    if release.requires_python:
        lines.append(f"Requires-Python: {release.requires_python}")
    extras = sorted(
        set(re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", " ".join(release.requires)))
    )
    lines += [f"Provides-Extra: {extra}" for extra in extras]
    lines += [f"Requires-Dist: {req}" for req in release.requires]
    lines += [f"Project-URL: {label}, {url}" for label, url in release.project_urls.items()]
    return "\n".join(lines) + "\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def _top_level(modules: dict[str, str]) -> list[str]:
    names = {path.split("/")[0].removesuffix(".py") for path in modules}
    return sorted(names)


def build_wheel(outdir: Path, release: Release) -> Path:
    """Write a pure-Python ``py3-none-any`` wheel for ``release`` into ``outdir``."""
    stem = _stem(release)
    dist_info = f"{stem}.dist-info"
    files: dict[str, bytes] = {
        path: text.encode() for path, text in sorted(release.modules.items())
    }
    files[f"{dist_info}/METADATA"] = _metadata(release, "2.1").encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: pkgindex\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    if release.entry_points:
        files[f"{dist_info}/entry_points.txt"] = "".join(
            f"[{group}]\n" + "".join(f"{name} = {ref}\n" for name, ref in refs.items())
            for group, refs in release.entry_points.items()
        ).encode()
    files[f"{dist_info}/top_level.txt"] = "".join(
        f"{n}\n" for n in _top_level(release.modules)
    ).encode()
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()

    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def build_sdist(outdir: Path, release: Release) -> Path:
    """Write ``<name>-<version>.tar.gz`` with PKG-INFO and the modules (not buildable)."""
    stem = _stem(release)
    files = {"PKG-INFO": _metadata(release, "2.2")}
    files.update(sorted(release.modules.items()))

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{stem}/{name}")
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))

    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"{stem}.tar.gz"
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path


def wheel_from_installed(outdir: Path, dist: metadata.Distribution) -> Path:
    """Repackage an installed pure-Python distribution as a wheel (for offline test indexes)."""
    name = _file_name(dist.metadata["Name"])
    dist_info = f"{name}-{dist.version}.dist-info"
    skip = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    files: dict[str, bytes] = {}
    for file in dist.files or ():
        parts = file.parts
        if parts[0] == ".." or "__pycache__" in parts or file.suffix == ".pyc":
            continue
        if parts[0].endswith(".dist-info"):
            if parts[-1] in skip:
                continue
            parts = (dist_info, *parts[1:])
        files["/".join(parts)] = Path(file.locate()).read_bytes()
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"{name}-{dist.version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(arcname, date_time=_ZIP_TIME), data)
    return path


@dataclass
class _File:
    """A published file, as listed on its project page."""

    filename: str
    path: Path
    sha256: str
    size: int
    version: str
    requires_python: str | None
    yanked: bool | str
    upload_time: str
    metadata: bytes | None = None  # a wheel's METADATA, served at <file>.metadata (PEP 658)

    @property
    def metadata_sha256(self) -> str | None:
        return hashlib.sha256(self.metadata).hexdigest() if self.metadata else None


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep test output quiet

    def _serve(self, body: bool) -> None:
        index = self.server.index
        # `simple_url` carries the server's token (see ``IndexServer.token``); requests are
        # recorded and routed without it.
        base = f"/{index.token}" if self.path.startswith(f"/{index.token}/simple") else ""
        self.path = self.path.removeprefix(base)
        index._record(self.command, self.path, dict(self.headers.items()))
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        fault = index.current_fault()
        if fault:
            self._fault(fault, body)
        elif path.startswith(f"/files/{index.token}/"):
            self._serve_file(path.removeprefix(f"/files/{index.token}/"), body)
        elif path in ("/simple", "/simple/"):
            self._serve_simple(index._project_list(self._wants_json()), body)
        elif path.startswith("/simple/"):
            self._serve_project(path.removeprefix("/simple/").strip("/"), body, base)
        else:
            self._send(404, b"not found\n", "text/plain", body=body)

    def _fault(self, fault: str, body: bool) -> None:
        """Answer as a broken index would (see ``IndexServer.fault``)."""
        if fault == "hang":
            time.sleep(self.server.index.hang_seconds)
            self.close_connection = True
        elif fault == "refuse":
            self.close_connection = True  # hang up without an answer
        elif fault == "500":
            self._send(500, b"internal server error\n", "text/plain", body=body)
        elif fault == "garbage":
            self._send(200, b'{"files": [{"filename": ', JSON_TYPE, body=body)
        elif fault == "empty":
            self._send(200, b"", JSON_TYPE, body=body)
        elif fault == "shape":
            self._send(200, b'{"files": {"not": "a list"}}', JSON_TYPE, body=body)
        elif fault == "login":
            page = b'<html><body><form action="/login"><input type="password" name="pw"></form></body></html>'
            self._send(200, page, HTML_TYPE, body=body)
        else:  # "503" and the legacy ``fail = True``
            self._send(503, b"service unavailable\n", "text/plain", body=body)

    def _serve_project(self, name: str, body: bool, base: str = "") -> None:
        index = self.server.index
        normalized = canonicalize_name(name)
        page = index._project_page(normalized, self._wants_json())
        if page is None:
            self._send(404, b"not found\n", "text/plain", body=body)
        elif self.path.split("?", 1)[0] != f"/simple/{normalized}/":
            location = f"{base}/simple/{normalized}/"
            self._send(301, b"", "text/plain", body=body, headers={"Location": location})
        else:
            self._serve_simple(page, body)

    def _serve_simple(self, page: tuple[bytes, str], body: bool) -> None:
        content, content_type = page
        etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
        headers = {
            "ETag": etag,
            "Cache-Control": f"max-age={self.server.index.max_age}",
            "Vary": "Accept",
        }
        if not self.server.index.cache_headers:  # an index that says nothing about caching
            headers = {"Vary": "Accept"}
        if _etag_matches(etag, self.headers.get("If-None-Match", "")):
            self.send_response(304)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
        else:
            self._send(200, content, content_type, body=body, headers=headers)

    def _serve_file(self, filename: str, body: bool) -> None:
        """Distribution files (and their PEP 658 metadata) never change: cacheable for good."""
        immutable = {"Cache-Control": "max-age=365000000, immutable, public"}
        file = self.server.index._file(filename.removesuffix(".metadata"))
        if file is None or (filename.endswith(".metadata") and not file.metadata):
            self._send(404, b"not found\n", "text/plain", body=body)
        elif filename.endswith(".metadata"):
            self._send(200, file.metadata, "application/octet-stream", body=body, headers=immutable)
        else:
            data = file.path.read_bytes()
            self._send(200, data, "application/octet-stream", body=body, headers=immutable)

    def _wants_json(self) -> bool:
        if self.server.index.html_only:
            return False
        return _prefers_json(self.headers.get("Accept", ""))

    def _send(
        self,
        status: int,
        content: bytes,
        content_type: str,
        *,
        body: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(content)


def _etag_matches(etag: str, if_none_match: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def _prefers_json(accept: str) -> bool:
    """True when the Accept header rates the PEP 691 JSON type at least as high as any HTML."""
    best_json = best_html = 0.0
    for item in accept.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_type.lower() in _JSON_ACCEPTS:
            best_json = max(best_json, quality)
        elif media_type.lower() in _HTML_ACCEPTS:
            best_html = max(best_html, quality)
    return best_json > 0 and best_json >= best_html


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    index: IndexServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-response are not worth a traceback


class IndexServer:
    """A simple-API package index served from ``root`` on 127.0.0.1."""

    def __init__(self, root: Path, *, html_only: bool = False, max_age: int = 600) -> None:
        self.root = Path(root)
        self.html_only = html_only
        self.max_age = max_age
        # Page and file URLs are unique to this server: a port used again by a later test
        # never serves other pages or bytes under a URL that uv's cache already holds.
        self.token = secrets.token_hex(6)
        self.fail = False  # True: every request gets 503
        # A fault for every request ("503", "500", "hang", "refuse", "garbage", "empty",
        # "shape", "login"), from request number ``fault_after`` on (0: at once).
        self.fault: str | None = None
        self.fault_after = 0
        self.hang_seconds = 30.0
        self.cache_headers = True
        self.core_metadata = True  # serve PEP 658 metadata of wheels, as PyPI does
        self.requests: list[tuple[str, str, dict]] = []
        self._projects: dict[str, dict[str, _File]] = {}  # normalized name -> filename -> file
        self._lock = threading.Lock()
        self._added = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("IndexServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def simple_url(self) -> str:
        return f"{self.url}/{self.token}/simple"

    def start(self) -> IndexServer:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.index = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="pkgindex", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, *releases: Release) -> None:
        """Build each release's file into ``root/files`` and publish it."""
        for release in releases:
            build = build_sdist if release.sdist_only else build_wheel
            path = build(self.root / "files", release)
            self.publish(path, release.name, release.version, release.requires_python,
                         release.yanked, release.upload_time)  # fmt: skip

    def reupload(self, release: Release) -> None:
        """Publish ``release`` again under the same file name, with other bytes (a private
        index that lets a version be overwritten)."""
        with self._lock:
            files = self._projects.get(canonicalize_name(release.name), {})
            for name in [n for n, f in files.items() if f.version == release.version]:
                del files[name]
        self.add(release)

    def add_installed(self, *names: str) -> None:
        """Publish wheels repackaged from distributions installed here (pytest and its deps)."""
        for name in names:
            dist = metadata.distribution(name)
            path = wheel_from_installed(self.root / "files", dist)
            self.publish(
                path, dist.metadata["Name"], dist.version, dist.metadata["Requires-Python"]
            )

    def publish(
        self,
        path: Path,
        name: str,
        version: str,
        requires_python: str | None = None,
        yanked: bool | str = False,
        upload_time: str | None = None,
    ) -> None:
        """Publish an existing distribution file."""
        data = path.read_bytes()
        with self._lock:
            project = self._projects.setdefault(canonicalize_name(name), {})
            if path.name in project:
                raise ValueError(f"{path.name} was already added")
            upload_time = upload_time or _default_upload_time(self._added)
            self._added += 1
            project[path.name] = _File(
                filename=path.name,
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                version=version,
                requires_python=requires_python,
                yanked=yanked,
                upload_time=upload_time,
                metadata=_wheel_metadata(path) if self.core_metadata else None,
            )

    def current_fault(self) -> str | None:
        if self.fail:
            return "503"
        if self.fault and len(self.requests) > self.fault_after:
            return self.fault
        return None

    def _record(self, method: str, path: str, headers: dict) -> None:
        with self._lock:
            self.requests.append((method, path, headers))

    def _file(self, filename: str) -> _File | None:
        with self._lock:
            for files in self._projects.values():
                if filename in files:
                    return files[filename]
        return None

    def _project_list(self, as_json: bool) -> tuple[bytes, str]:
        with self._lock:
            names = sorted(self._projects)
        if as_json:
            doc = {"meta": {"api-version": "1.1"}, "projects": [{"name": name} for name in names]}
            return json.dumps(doc, indent=1).encode(), JSON_TYPE
        links = "".join(f'<a href="/simple/{name}/">{name}</a>\n' for name in names)
        return _html_page("Simple index", links), HTML_TYPE

    def _project_page(self, name: str, as_json: bool) -> tuple[bytes, str] | None:
        with self._lock:
            if name not in self._projects:
                return None
            files = sorted(
                self._projects[name].values(), key=lambda f: (Version(f.version), f.filename)
            )
        if as_json:
            doc = {
                "meta": {"api-version": "1.1"},
                "name": name,
                "versions": sorted({f.version for f in files}, key=Version),
                "files": [self._json_file(f) for f in files],
            }
            return json.dumps(doc, indent=1).encode(), JSON_TYPE
        links = "".join(self._html_link(f) for f in files)
        return _html_page(f"Links for {name}", links), HTML_TYPE

    def _json_file(self, file: _File) -> dict:
        return {
            "filename": file.filename,
            "url": f"{self.url}/files/{self.token}/{file.filename}",
            "hashes": {"sha256": file.sha256},
            "requires-python": file.requires_python,
            "yanked": file.yanked,
            "upload-time": file.upload_time,
            "size": file.size,
            "core-metadata": {"sha256": file.metadata_sha256} if file.metadata else False,
        }

    def _html_link(self, file: _File) -> str:
        attrs = ""
        if file.requires_python:
            attrs += f' data-requires-python="{html.escape(file.requires_python)}"'
        if file.yanked is not False:
            reason = "" if file.yanked is True else file.yanked
            attrs += f' data-yanked="{html.escape(reason)}"'
        if file.metadata:
            attrs += f' data-core-metadata="sha256={file.metadata_sha256}"'
        href = f"{self.url}/files/{self.token}/{file.filename}#sha256={file.sha256}"
        return f'<a href="{html.escape(href)}"{attrs}>{html.escape(file.filename)}</a><br>\n'


def _wheel_metadata(path: Path) -> bytes | None:
    if not path.name.endswith(".whl"):
        return None
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                return archive.read(name)
    return None


def _html_page(title: str, links: str) -> bytes:
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        '<meta name="pypi:repository-version" content="1.1">\n'
        f"<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n{links}</body>\n</html>\n"
    ).encode()


def _default_upload_time(order: int) -> str:
    """Release number ``order`` (0-based) is uploaded at noon on 2024-01-01 + ``order`` days."""
    when = _FIRST_UPLOAD + dt.timedelta(days=order, hours=12)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
