"""One look at the index per sweep: a local view of its project pages that uv is pointed at.

Within a sweep (a ``compat run``, a bisect, one ``nox`` invocation), every uv process of
every cell resolves against the same pages: each is fetched (or revalidated) once, through
nox-compat's HTTP cache (``compat.index``), and kept for the sweep — so 14 cells cost one
request per distinct page instead of one per page per uv process, and a release published
mid-sweep cannot give two cells different worlds. The view serves the pages on 127.0.0.1
with their file links made absolute: distributions and their metadata are downloaded from
the index itself. ``--refresh`` revalidates each page once.

Its URL is the same from one sweep to the next (a port and path derived from the index URL;
another port only when that one is taken), because uv keys its cache of metadata and
wheels by the index URL; uv revalidates every page with the view (an ETag, no request to
the index). Each cell's uv processes name the cell in the URL's user part, so the view
knows which pages a resolution read (``seen``): when none of them changed, the resolution
would give the same pins (``compat.environment`` keeps them).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from packaging.utils import canonicalize_name

from compat.errors import IndexFailure
from compat.index import IndexClient

if TYPE_CHECKING:
    from compat.matrix import Matrix

_HREF = re.compile(r"""(href\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE)
_active: list[IndexView] = []  # the view of the sweep in progress (at most one)


class IndexView:
    """The pages of one index, served locally for the length of a sweep."""

    def __init__(self, client: IndexClient) -> None:
        self.client = client
        digest = hashlib.sha256(client.index_url.encode()).hexdigest()
        self.token = digest[:16]
        self.pages: dict[str, tuple[int, bytes, str]] = {}  # project -> (status, body, type)
        self.seen: dict[str, dict[str, str]] = {}  # tag -> project -> page digest
        self.locks: dict[str, threading.Lock] = {}
        self.lock = threading.Lock()
        self.server = _server(40000 + int(digest[16:24], 16) % 20000)
        self.server.daemon_threads = True
        self.server.view = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.02,), name="compat-view", daemon=True
        )

    def url(self, tag: str = "") -> str:
        """The view's index URL; ``tag`` (a cell's name) tells the view who is reading."""
        host, port = self.server.server_address[:2]
        return f"http://{tag + '@' if tag else ''}{host}:{port}/{self.token}/simple"

    def digest(self, name: str) -> str:
        """The page of ``name`` as this sweep sees it, as a digest (fetched once)."""
        status, body, _ = self.page(name)
        return f"{status}:{hashlib.sha256(body).hexdigest()[:16]}"

    def read(self, tag: str, name: str) -> None:
        digest = self.digest(name)
        with self.lock:
            self.seen.setdefault(tag, {})[canonicalize_name(name)] = digest

    def take(self, tag: str) -> dict[str, str]:
        """The pages read under ``tag`` since the last call, with their digests."""
        with self.lock:
            return self.seen.pop(tag, {})

    def page(self, name: str) -> tuple[int, bytes, str]:
        """The page of ``name`` as the whole sweep sees it: fetched once."""
        name = canonicalize_name(name)
        with self.lock:
            lock = self.locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self.pages:
                self.pages[name] = self._fetch(name)
            return self.pages[name]

    def _fetch(self, name: str) -> tuple[int, bytes, str]:
        try:
            response, url = self.client.raw_page(name)
        except IndexFailure as exc:
            status = 404 if "not found on the index" in str(exc) else 502
            return status, str(exc).encode(), "text/plain"
        kind = response.headers.get("Content-Type", "text/html")
        if "json" in kind:
            try:
                data = json.loads(response.content)
                for file in data.get("files", []):
                    file["url"] = self._absolute(url, file["url"])
            except (ValueError, AttributeError, KeyError, TypeError):
                return 502, b"the index answered something that is not a project page", "text/plain"
            return 200, json.dumps(data).encode(), kind
        text = _HREF.sub(
            lambda m: m.group(1) + m.group(2) + self._absolute(url, m.group(3)) + m.group(2),
            response.text,
        )
        return 200, text.encode(), kind

    def _absolute(self, page_url: str, link: str) -> str:
        """``link`` as an absolute URL; on the index's own host with the index's credentials
        (uv downloads the files from the index itself)."""
        absolute = urljoin(page_url, link)
        index, target = urlsplit(self.client.index_url), urlsplit(absolute)
        if index.username and target.hostname == index.hostname and not target.username:
            netloc = index.netloc.rsplit("@", 1)[0] + "@" + target.netloc
            absolute = urlunsplit(target._replace(netloc=netloc))
        return absolute

    def __enter__(self) -> IndexView:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _server(port: int) -> ThreadingHTTPServer:
    """The view's server on ``port``, or on any free port when that one is taken."""
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    except OSError:
        return ThreadingHTTPServer(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
        view: IndexView = self.server.view  # type: ignore[attr-defined]
        prefix = f"/{view.token}/simple/"
        path = self.path.split("?", 1)[0]
        if not path.startswith(prefix) or not path[len(prefix) :].strip("/"):
            self._send(404, b"not found", "text/plain", "")
            return
        name = path[len(prefix) :].strip("/").split("/")[0]
        status, body, kind = view.page(name)
        if tag := _user(self.headers.get("Authorization", "")):
            view.read(tag, name)
        etag = f'"{view.digest(name)}"'
        if status == 200 and self.headers.get("If-None-Match") == etag:
            self._send(304, b"", kind, etag)
        else:
            self._send(status, body, kind, etag)

    def _send(self, status: int, body: bytes, kind: str, etag: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")  # uv asks the view every time
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def sweep(matrix: Matrix) -> Iterator[IndexView | None]:
    """Within the block, the cells of ``matrix`` resolve against one view of its index (none
    when a view is already active: the outer sweep's is used)."""
    if _active:
        yield _active[-1]
        return
    client = IndexClient(matrix.settings.index_url, refresh=matrix.settings.refresh)
    with IndexView(client) as view:
        _active.append(view)
        try:
            yield view
        finally:
            _active.remove(view)


def _user(authorization: str) -> str:
    """The user part of a Basic ``Authorization`` header ("" without one)."""
    kind, _, encoded = authorization.partition(" ")
    if kind.lower() != "basic":
        return ""
    try:
        return base64.b64decode(encoded).decode("utf-8", "replace").partition(":")[0]
    except ValueError:
        return ""


def active() -> IndexView | None:
    return _active[-1] if _active else None


def index_args(matrix: Matrix, tag: str = "") -> list[str]:
    """uv's index options: the view of the sweep in progress (``tag``: who reads), else the
    configured index."""
    if _active:
        return ["--default-index", _active[-1].url(tag)]
    return matrix.settings.index.uv_args()
