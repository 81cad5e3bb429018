"""A local fake of the GitHub REST API for tests: releases, issues, comments, search, pulls.

Served by a threaded ``http.server`` on 127.0.0.1. Issues can be edited (PATCH: state,
labels, title, body). Lists are paginated with
``per_page`` / ``page`` and ``Link: <…>; rel="next"`` headers like GitHub's.
Switches: ``rate_limit_once`` answers the next request 403 with
``X-RateLimit-Remaining: 0``; ``fail_5xx = N`` answers the next N requests 502;
``hide_pulls_once`` lists no pull requests once (another run opened one meanwhile).
Creating a pull request for a head that has an open one answers 422 like GitHub.
Every request is recorded in ``requests`` (method, path, headers, JSON body).

    with FakeGitHub() as gh:
        gh.add_release("acme/acme-sdk", "v1.2.0", body="…")
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        fake._record(Request(self.command, self.path, dict(self.headers.items()), body))
        status, payload, headers = fake._answer(self.command, self.path, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


class FakeGitHub:
    def __init__(self) -> None:
        self.releases: dict[str, list[dict]] = {}  # repo -> releases, newest first
        self.issues: dict[str, list[dict]] = {}  # repo -> issues, oldest first
        self.comments: dict[tuple[str, int], list[dict]] = {}
        self.pulls: dict[str, list[dict]] = {}  # repo -> pull requests, oldest first
        self.default_branch = "main"
        self.hide_pulls_once = False
        self.requests: list[Request] = []
        self.rate_limit_once = False
        self.retry_after: str | None = None  # with rate_limit_once: send Retry-After instead
        self.fail_5xx = 0
        self._lock = threading.Lock()
        self._httpd: _Server | None = None

    # -- life cycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._httpd is not None, "FakeGitHub is not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGitHub:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- data --------------------------------------------------------------------------------

    def add_repo(self, repo: str) -> None:
        """Make ``repo`` exist (with no releases and no issues yet)."""
        self.releases.setdefault(repo, [])
        self.issues.setdefault(repo, [])

    def add_release(self, repo: str, tag: str, body: str = "", **fields) -> dict:
        """Add a release (newest first, like GitHub lists them)."""
        release = {
            "tag_name": tag,
            "name": fields.pop("name", tag),
            "body": body,
            "draft": False,
            "prerelease": False,
            "html_url": f"https://github.com/{repo}/releases/tag/{tag}",
            "published_at": fields.pop("published_at", None),
            **fields,
        }
        self.releases.setdefault(repo, []).insert(0, release)
        return release

    def add_issue(self, repo: str, title: str, body: str = "", labels=(), **fields) -> dict:
        issues = self.issues.setdefault(repo, [])
        number = len(issues) + 1
        issue = {
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "labels": [{"name": name} for name in labels],
            "html_url": f"https://github.com/{repo}/issues/{number}",
            **fields,
        }
        issues.append(issue)
        return issue

    def add_pull(self, repo: str, head: str, base: str = "main", title: str = "", body: str = "",
                 state: str = "open") -> dict:  # fmt: skip
        """Add a pull request from branch ``head`` of ``repo`` itself."""
        self.add_repo(repo)
        number = 1 + max(
            (item["number"] for item in [*self.issues[repo], *self.pulls.get(repo, [])]),
            default=0,
        )
        owner = repo.split("/")[0]
        pull = {
            "number": number,
            "title": title,
            "body": body,
            "state": state,
            "head": {"ref": head, "label": f"{owner}:{head}"},
            "base": {"ref": base},
            "html_url": f"https://github.com/{repo}/pull/{number}",
        }
        self.pulls.setdefault(repo, []).append(pull)
        return pull

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in ("POST", "PATCH")]

    # -- serving -----------------------------------------------------------------------------

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _answer(self, method: str, target: str, body: dict | None) -> tuple[int, object, dict]:
        with self._lock:
            if self.fail_5xx > 0:
                self.fail_5xx -= 1
                return 502, {"message": "Server Error"}, {}
            if self.rate_limit_once:
                self.rate_limit_once = False
                headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}
                if self.retry_after is not None:
                    headers = {"Retry-After": self.retry_after}
                return 403, {"message": "API rate limit exceeded"}, headers
            parts = urlsplit(target)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            return self._route(method, parts.path, query, body)

    def _route(self, method: str, path: str, query: dict, body: dict | None):
        if method == "GET" and path == "/search/issues":
            return self._page(path, query, self._search(query.get("q", "")), wrap=True)
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(?:/pulls(?:/(\d+))?)?", path)
        if match:
            return self._pulls(method, path, match.group(1), match.group(2), query, body)
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)", path)
        if match:
            return self._edit_issue(method, match.group(1), int(match.group(2)), body)
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)/(releases|issues)(?:/(\d+)/comments)?", path)
        if not match:
            return 404, {"message": "Not Found"}, {}
        repo, kind, number = match.group(1), match.group(2), match.group(3)
        if repo not in self.releases and repo not in self.issues:
            return 404, {"message": "Not Found"}, {}
        if kind == "releases" and method == "GET" and number is None:
            return self._page(path, query, self.releases.get(repo, []))
        if kind == "issues" and number is None:
            if method == "GET":
                return self._page(path, query, self._open_issues(repo, query.get("labels")))
            return 201, self._create(repo, body or {}), {}
        if kind == "issues" and number is not None:
            key = (repo, int(number))
            if not any(i["number"] == int(number) for i in self.issues.get(repo, [])):
                return 404, {"message": "Not Found"}, {}
            if method == "GET":
                return self._page(path, query, self.comments.get(key, []))
            comment = {"id": len(self.comments.get(key, [])) + 1, "body": (body or {})["body"]}
            self.comments.setdefault(key, []).append(comment)
            return 201, comment, {}
        return 405, {"message": "Method Not Allowed"}, {}

    def _page(self, path: str, query: dict, items: list, wrap: bool = False):
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            following = urlencode({**query, "page": page + 1})
            headers["Link"] = f'<{self.url}{path}?{following}>; rel="next"'
        payload = {"total_count": len(items), "items": chunk} if wrap else chunk
        return 200, payload, headers

    def _open_issues(self, repo: str, labels: str | None) -> list[dict]:
        wanted = set(labels.split(",")) if labels else set()
        return [
            i
            for i in self.issues.get(repo, [])
            if i["state"] == "open" and wanted <= {label["name"] for label in i["labels"]}
        ]

    def _search(self, q: str) -> list[dict]:
        repo = re.search(r"repo:(\S+)", q)
        phrase = re.search(r'"([^"]*)"', q)
        found = self._open_issues(repo.group(1), None) if repo else []
        return [i for i in found if not phrase or phrase.group(1).lower() in i["title"].lower()]

    def _pulls(self, method: str, path: str, repo: str, number: str | None, query: dict,
               body: dict | None):  # fmt: skip
        if repo not in self.releases and repo not in self.issues:
            return 404, {"message": "Not Found"}, {}
        if not path.endswith(("/pulls", f"/pulls/{number}")):  # the repository itself
            return 200, {"full_name": repo, "default_branch": self.default_branch}, {}
        pulls = self.pulls.setdefault(repo, [])
        if number is None and method == "GET":
            if self.hide_pulls_once:
                self.hide_pulls_once = False
                return self._page(path, query, [])
            found = [
                p for p in pulls
                if query.get("state", "open") in ("all", p["state"])
                and query.get("head") in (None, p["head"]["label"])
                and query.get("base") in (None, p["base"]["ref"])
            ]  # fmt: skip
            return self._page(path, query, found)
        if number is None and method == "POST":
            body = body or {}
            label = f"{repo.split('/')[0]}:{body.get('head')}"
            if any(p["state"] == "open" and p["head"]["label"] == label for p in pulls):
                message = f"A pull request already exists for {label}."
                errors = [{"resource": "PullRequest", "code": "custom", "message": message}]
                return 422, {"message": "Validation Failed", "errors": errors}, {}
            pull = self.add_pull(repo, body["head"], body["base"], body["title"], body.get("body"))
            return 201, pull, {}
        pull = next((p for p in pulls if p["number"] == int(number or 0)), None)
        if pull is None:
            return 404, {"message": "Not Found"}, {}
        if method == "PATCH":
            for key in ("title", "body", "state"):
                if key in (body or {}):
                    pull[key] = body[key]
            if "base" in (body or {}):
                pull["base"] = {"ref": body["base"]}
        return 200, pull, {}

    def _edit_issue(self, method: str, repo: str, number: int, body: dict | None):
        """GET or PATCH one issue: title, body, state (+ state_reason), labels (names)."""
        issue = next((i for i in self.issues.get(repo, []) if i["number"] == number), None)
        if issue is None:
            return 404, {"message": "Not Found"}, {}
        if method == "PATCH":
            for key in ("title", "body", "state", "state_reason"):
                if key in (body or {}):
                    issue[key] = body[key]
            if "labels" in (body or {}):
                issue["labels"] = [{"name": name} for name in body["labels"]]
        elif method != "GET":
            return 405, {"message": "Method Not Allowed"}, {}
        return 200, issue, {}

    def _create(self, repo: str, body: dict) -> dict:
        return self.add_issue(repo, body["title"], body.get("body", ""), body.get("labels", []))
