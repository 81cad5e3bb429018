"""A small GitHub REST client (releases, issues, comments) over requests.

The API base comes from ``GITHUB_API_URL`` (set by GitHub Actions and GitHub
Enterprise), else https://api.github.com. The token comes from ``GITHUB_TOKEN``
or ``GH_TOKEN``; without one the client is anonymous. The token is only ever
sent in the ``Authorization`` header to the API base: never printed, never
logged, never sent to another host.

Answers 5xx and rate limits (403/429 with ``X-RateLimit-Remaining: 0`` or
``Retry-After``) are retried with a short, bounded backoff; when the client
gives up it raises ``GitHubError`` with a message ready to print. A connection
that cannot be made is tried twice; after that the client is ``unreachable``
and every later call fails at once with ``GitHubUnreachable`` (one outage costs
one wait per run, not one per repository).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from compat.errors import CompatError

PUBLIC_API = "https://api.github.com"
IDEMPOTENT = {"GET", "HEAD"}


class GitHubError(CompatError):
    """GitHub could not answer (or refused); the message is ready to print, token-free."""


class GitHubUnreachable(GitHubError):
    """No connection to GitHub could be made (DNS, refused, no route, connect timeout)."""


def api_url_from_env() -> str:
    return (os.environ.get("GITHUB_API_URL") or PUBLIC_API).rstrip("/")


def token_from_env() -> str | None:
    return os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or None


class _Transport:
    """Requests to one API base: headers, retries, rate limits, pagination."""

    retries = 3  # extra attempts after the first
    connect_retries = 1  # extra attempts after a connection that could not be made
    backoff = 1.0  # seconds; doubled on every retry of a 5xx or a connection error
    max_wait = 60.0  # never sleep longer than this for one retry: give up instead

    def __init__(
        self,
        api_url: str | None = None,
        token: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.api_url = (api_url or api_url_from_env()).rstrip("/")
        token = token if token is not None else token_from_env()
        self.authenticated = bool(token)
        self.timeout = timeout
        self.unreachable: str | None = None  # set once a connection could not be made
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "nox-compat",
            }
        )
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __repr__(self) -> str:
        auth = "token" if self.authenticated else "anonymous"
        return f"GitHub({self.api_url!r}, {auth})"

    # -- transport -------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, params: dict | None = None, json: Any = None
    ) -> requests.Response:
        """One API call with retries. ``path`` is relative to the API base, or a full URL on it."""
        url = path if "://" in path else f"{self.api_url}/{path.lstrip('/')}"
        if not url.startswith(self.api_url + "/"):
            raise GitHubError(f"refusing to send a request outside {self.api_url}: {url}")
        if self.unreachable:
            raise GitHubUnreachable(self.unreachable)
        what = f"{method} {urlsplit(url).path}"
        problem = ""
        for attempt in range(self.retries + 1):
            try:
                response = self.session.request(
                    method, url, params=params, json=json, timeout=self.timeout
                )
            except requests.ConnectionError as exc:
                problem = f"cannot reach {self.api_url} ({type(exc).__name__})"
                if method not in IDEMPOTENT or attempt >= self.connect_retries:
                    self.unreachable = f"{problem}; gave up after {attempt + 1} attempt(s)"
                    raise GitHubUnreachable(self.unreachable) from None
                wait = self.backoff * 2**attempt
            except requests.RequestException as exc:  # e.g. a read timeout: it answered once
                if method not in IDEMPOTENT:
                    raise GitHubError(
                        f"no answer from {self.api_url} ({type(exc).__name__})"
                    ) from None
                problem = f"no answer from {self.api_url} ({type(exc).__name__})"
                wait = self.backoff * 2**attempt
            else:
                if response.ok:
                    return response
                wait, problem = self._retry_plan(response, method, attempt)
                if wait is None:
                    raise GitHubError(f"{problem} ({what})")
            if attempt == self.retries:
                break
            if wait > self.max_wait:
                raise GitHubError(f"{problem}; not waiting {wait:.0f}s for it ({what})")
            self._sleep(wait)
        raise GitHubError(f"{problem}; gave up after {self.retries + 1} attempts ({what})")

    def _retry_plan(
        self, response: requests.Response, method: str, attempt: int
    ) -> tuple[float | None, str]:
        """(seconds to wait before retrying, or None: do not retry; what went wrong)."""
        status = response.status_code
        headers = response.headers
        if status in (403, 429) and (
            headers.get("X-RateLimit-Remaining") == "0" or "Retry-After" in headers
        ):
            who = (
                "for this token"
                if self.authenticated
                else "for anonymous requests (60 an hour; set GITHUB_TOKEN or GH_TOKEN)"
            )
            problem = f"GitHub API rate limit exceeded {who}"
            if "Retry-After" in headers:
                wait = _seconds(headers["Retry-After"], self.backoff)
            else:
                reset = _seconds(headers.get("X-RateLimit-Reset", ""), 0.0)
                wait = max(0.0, reset - time.time()) + 1.0 if reset else self.backoff
            return wait, problem
        if status == 429:
            return self.backoff * 2**attempt, "GitHub answered 429 Too Many Requests"
        if status >= 500 and method in IDEMPOTENT:
            return self.backoff * 2**attempt, f"GitHub answered {status}"
        hint = ""
        if status == 404:
            hint = " (check the owner/name; private repositories need GITHUB_TOKEN)"
        elif status in (401, 403):
            hint = " (check that GITHUB_TOKEN / GH_TOKEN is valid and has the needed permission)"
        return None, f"GitHub answered {status}: {_message(response)}{hint}"

    def paginate(self, path: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a list endpoint, following ``Link: rel="next"`` page by page."""
        url: str | None = path
        query: dict | None = {"per_page": 100, **(params or {})}
        while url:
            response = self.request("GET", url, params=query)
            data = response.json()
            yield from data["items"] if isinstance(data, dict) else data
            url, query = response.links.get("next", {}).get("url"), None


class GitHub(_Transport):
    """GitHub REST API v3 client. ``sleep`` is injectable so tests do not wait."""

    def releases(self, repo: str) -> Iterator[dict]:
        """The releases of ``owner/name``, newest first, all pages (lazily)."""
        return self.paginate(f"repos/{repo}/releases")

    def open_issues(self, repo: str, label: str | None = None) -> list[dict]:
        """Open issues (not pull requests) of ``repo``, optionally with ``label``."""
        params = {"state": "open", **({"labels": label} if label else {})}
        return [i for i in self.paginate(f"repos/{repo}/issues", params) if "pull_request" not in i]

    def search_issues(self, repo: str, title: str) -> list[dict]:
        """Open issues of ``repo`` whose title contains ``title`` (the search API)."""
        phrase = title.replace('"', " ")
        query = f'repo:{repo} is:issue is:open in:title "{phrase}"'
        return list(self.paginate("search/issues", {"q": query}))

    def find_open_issue(self, repo: str, title: str, label: str | None = None) -> dict | None:
        """The open issue titled exactly ``title``: among those with ``label``, else by search."""
        for source in (
            lambda: self.open_issues(repo, label),
            lambda: self.search_issues(repo, title),
        ):
            for issue in source():
                if issue.get("title") == title and issue.get("state", "open") == "open":
                    return issue
        return None

    def comments(self, repo: str, number: int) -> list[dict]:
        return list(self.paginate(f"repos/{repo}/issues/{number}/comments"))

    def create_issue(self, repo: str, title: str, body: str, labels: list[str]) -> dict:
        payload = {"title": title, "body": body, "labels": labels}
        return self.request("POST", f"repos/{repo}/issues", json=payload).json()

    def comment(self, repo: str, number: int, body: str) -> dict:
        path = f"repos/{repo}/issues/{number}/comments"
        return self.request("POST", path, json={"body": body}).json()


def _seconds(value: str, default: float) -> float:
    try:
        return float(value)
    except ValueError:
        return default


def _message(response: requests.Response) -> str:
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or response.reason or "no message")[:200]
