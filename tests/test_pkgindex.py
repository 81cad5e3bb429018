"""Tests for the local package index in ``pkgindex``, including installs with the real uv."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pkgindex import IndexServer, Release, build_sdist, build_wheel

UV = shutil.which("uv") or "uv"
UV_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


# --- helpers ---------------------------------------------------------------------------


def get(
    server: IndexServer, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """One request without following redirects: (status, headers, body)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def get_json(server: IndexServer, path: str) -> dict:
    status, headers, body = get(server, path, {"Accept": UV_ACCEPT})
    assert status == 200
    assert headers["Content-Type"] == "application/vnd.pypi.simple.v1+json"
    return json.loads(body)


def uv(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real uv, isolated from user config, with a per-test cache and no downloads."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("UV_")}
    env.update(
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_CONFIG="1",
        UV_HTTP_RETRIES="0",
        NO_COLOR="1",
    )
    return subprocess.run(
        [UV, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    path = tmp_path / "venv"
    result = uv(tmp_path, "venv", str(path), "--python", sys.executable)
    assert result.returncode == 0, result.stderr
    return path


def pip_install(tmp_path: Path, server: IndexServer, venv: Path, *reqs: str):
    return uv(
        tmp_path, "pip", "install", "--index-url", server.simple_url, "--python", str(venv), *reqs
    )


def compile_reqs(tmp_path: Path, server: IndexServer, reqs: str) -> str:
    result = uv(
        tmp_path,
        "pip",
        "compile",
        "-",
        "--no-header",
        "--no-annotate",
        "--index-url",
        server.simple_url,
        "--python",
        sys.executable,
        stdin=reqs,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def installed_version(venv: Path, module: str) -> str:
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    code = f"import {module}; print({module}.__version__)"
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


# --- building --------------------------------------------------------------------------


def test_release_default_module_uses_normalized_name() -> None:
    release = Release("Acme.SDK", "1.2.0")
    assert release.modules == {"acme_sdk/__init__.py": '__version__ = "1.2.0"\n'}


def test_wheel_is_valid_and_deterministic(tmp_path: Path) -> None:
    release = Release(
        "acme-sdk",
        "1.2.0",
        modules={"acme/__init__.py": "X = 1\n", "acme_helpers.py": "Y = 2\n"},
        requires_python=">=3.9",
        requires=["acme-core>=1", "rich; extra == 'cli'"],
        project_urls={"Source": "https://example.invalid/acme"},
    )
    first = build_wheel(tmp_path / "a", release)
    second = build_wheel(tmp_path / "b", release)
    assert first.name == "acme_sdk-1.2.0-py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()

    with zipfile.ZipFile(first) as wheel:
        assert wheel.testzip() is None
        names = wheel.namelist()
        metadata = wheel.read("acme_sdk-1.2.0.dist-info/METADATA").decode()
        record = wheel.read("acme_sdk-1.2.0.dist-info/RECORD").decode().splitlines()
        assert wheel.read("acme_sdk-1.2.0.dist-info/top_level.txt") == b"acme\nacme_helpers\n"
        assert b"Tag: py3-none-any" in wheel.read("acme_sdk-1.2.0.dist-info/WHEEL")
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if path.endswith("/RECORD"):
                assert digest == size == ""
                continue
            data = wheel.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode()
            assert int(size) == len(data)
    assert {line.rsplit(",", 2)[0] for line in record} == set(names)
    assert "acme/__init__.py" in names
    assert "Metadata-Version: 2.1\nName: acme-sdk\nVersion: 1.2.0\n" in metadata
    assert "Requires-Python: >=3.9\n" in metadata
    assert "Requires-Dist: acme-core>=1\nRequires-Dist: rich; extra == 'cli'\n" in metadata
    assert "Project-URL: Source, https://example.invalid/acme\n" in metadata


def test_sdist_contains_pkg_info_and_modules(tmp_path: Path) -> None:
    release = Release("Acme_SDK", "0.3", requires=["acme-core"], sdist_only=True)
    first = build_sdist(tmp_path / "a", release)
    assert first.name == "acme_sdk-0.3.tar.gz"
    assert first.read_bytes() == build_sdist(tmp_path / "b", release).read_bytes()
    with tarfile.open(first) as sdist:
        assert sorted(sdist.getnames()) == [
            "acme_sdk-0.3/PKG-INFO",
            "acme_sdk-0.3/acme_sdk/__init__.py",
        ]
        pkg_info = sdist.extractfile("acme_sdk-0.3/PKG-INFO").read().decode()
    assert "Name: Acme_SDK\nVersion: 0.3\nRequires-Dist: acme-core\n" in pkg_info


# --- the simple API over HTTP ----------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "json_expected"),
    [
        (UV_ACCEPT, True),
        (PIP_ACCEPT, True),
        ("application/vnd.pypi.simple.latest+json", True),
        ("text/html", False),
        ("*/*", False),
        ("", False),
        ("application/vnd.pypi.simple.v1+json;q=0.1, text/html", False),
        ("application/vnd.pypi.simple.v1+json;q=0", False),
    ],
)
def test_content_negotiation(index_server: IndexServer, accept: str, json_expected: bool) -> None:
    index_server.add(Release("acme-sdk", "1.0.0"))
    headers = {"Accept": accept} if accept else {}
    for path in ("/simple/", "/simple/acme-sdk/"):
        status, response_headers, _ = get(index_server, path, headers)
        assert status == 200
        expected = "application/vnd.pypi.simple.v1+json" if json_expected else "text/html"
        assert response_headers["Content-Type"] == expected


def test_html_only_ignores_json_accept(index_server: IndexServer) -> None:
    index_server.add(Release("acme-sdk", "1.0.0"))
    index_server.html_only = True
    _, headers, _ = get(index_server, "/simple/acme-sdk/", {"Accept": UV_ACCEPT})
    assert headers["Content-Type"] == "text/html"
    index_server.html_only = False
    _, headers, _ = get(index_server, "/simple/acme-sdk/", {"Accept": UV_ACCEPT})
    assert headers["Content-Type"] == "application/vnd.pypi.simple.v1+json"


def test_json_pages(index_server: IndexServer) -> None:
    index_server.add(
        Release("Acme_SDK", "1.10.0", requires_python=">=3.9"),
        Release("acme-sdk", "1.2.0", yanked=True),
        Release(
            "acme-sdk", "1.3.0", yanked="broken build", upload_time="2026-01-02T03:04:05.000000Z"
        ),
        Release("acme-sdk", "2.0.0", sdist_only=True),
        Release("other", "0.1"),
    )
    listing = get_json(index_server, "/simple/")
    assert listing == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "acme-sdk"}, {"name": "other"}],
    }

    page = get_json(index_server, "/simple/acme-sdk/")
    assert page["meta"] == {"api-version": "1.1"}
    assert page["name"] == "acme-sdk"
    assert page["versions"] == ["1.2.0", "1.3.0", "1.10.0", "2.0.0"]
    files = {f["filename"]: f for f in page["files"]}
    assert list(files) == [
        "acme_sdk-1.2.0-py3-none-any.whl",
        "acme_sdk-1.3.0-py3-none-any.whl",
        "acme_sdk-1.10.0-py3-none-any.whl",
        "acme_sdk-2.0.0.tar.gz",
    ]
    first = files["acme_sdk-1.10.0-py3-none-any.whl"]
    assert (
        first["url"]
        == f"{index_server.url}/files/{index_server.token}/acme_sdk-1.10.0-py3-none-any.whl"
    )
    assert first["requires-python"] == ">=3.9"
    assert first["yanked"] is False
    status, _, metadata = get(
        index_server, first["url"].removeprefix(index_server.url) + ".metadata"
    )
    assert status == 200 and metadata.startswith(b"Metadata-Version: 2.1\nName: Acme_SDK")
    assert first["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    assert files["acme_sdk-2.0.0.tar.gz"]["core-metadata"] is False  # sdists have none
    assert first["upload-time"] == "2024-01-01T12:00:00.000000Z"
    assert files["acme_sdk-1.2.0-py3-none-any.whl"]["upload-time"] == "2024-01-02T12:00:00.000000Z"
    assert files["acme_sdk-1.2.0-py3-none-any.whl"]["yanked"] is True
    assert files["acme_sdk-1.2.0-py3-none-any.whl"]["requires-python"] is None
    assert files["acme_sdk-1.3.0-py3-none-any.whl"]["yanked"] == "broken build"
    assert files["acme_sdk-1.3.0-py3-none-any.whl"]["upload-time"] == "2026-01-02T03:04:05.000000Z"

    for entry in files.values():
        status, headers, body = get(index_server, urlsplit(entry["url"]).path)
        assert status == 200
        assert int(headers["Content-Length"]) == len(body) == entry["size"]
        assert hashlib.sha256(body).hexdigest() == entry["hashes"]["sha256"]


def test_html_pages(index_server: IndexServer) -> None:
    index_server.add(
        Release("acme-sdk", "1.0.0", requires_python=">=3.8,<4"),
        Release("acme-sdk", "1.1.0", yanked=True),
        Release("acme-sdk", "1.2.0", yanked='bad "quote" <b>'),
    )
    status, headers, body = get(index_server, "/simple/", {"Accept": "text/html"})
    assert status == 200
    assert b'<a href="/simple/acme-sdk/">acme-sdk</a>' in body

    status, headers, body = get(index_server, "/simple/acme-sdk/", {"Accept": "text/html"})
    page = body.decode()
    wheel = (index_server.root / "files" / "acme_sdk-1.0.0-py3-none-any.whl").read_bytes()
    sha256 = hashlib.sha256(wheel).hexdigest()
    metadata = index_server._file("acme_sdk-1.0.0-py3-none-any.whl").metadata_sha256
    assert (
        f'<a href="{index_server.url}/files/{index_server.token}/acme_sdk-1.0.0-py3-none-any.whl#sha256={sha256}"'
        f' data-requires-python="&gt;=3.8,&lt;4" data-core-metadata="sha256={metadata}">'
        "acme_sdk-1.0.0-py3-none-any.whl</a>"
    ) in page
    assert 'data-yanked="" data-core-metadata=' in page
    assert 'data-yanked="bad &quot;quote&quot; &lt;b&gt;" data-core-metadata=' in page


def test_redirects_and_not_found(index_server: IndexServer) -> None:
    index_server.add(Release("acme-sdk", "1.0.0"))
    for path in ("/simple/Acme_SDK/", "/simple/acme.sdk", "/simple/acme-sdk"):
        status, headers, _ = get(index_server, path)
        assert (status, headers["Location"]) == (301, "/simple/acme-sdk/")
    assert get(index_server, "/simple/nope/")[0] == 404
    assert get(index_server, f"/files/{index_server.token}/nope-1.0-py3-none-any.whl")[0] == 404
    assert get(index_server, "/elsewhere")[0] == 404


def test_etag_cache_control_and_head(index_server: IndexServer) -> None:
    index_server.max_age = 42
    index_server.add(Release("acme-sdk", "1.0.0"))
    status, headers, body = get(index_server, "/simple/acme-sdk/", {"Accept": UV_ACCEPT})
    etag = headers["ETag"]
    assert status == 200
    assert headers["Cache-Control"] == "max-age=42"

    status, headers, body = get(
        index_server, "/simple/acme-sdk/", {"Accept": UV_ACCEPT, "If-None-Match": etag}
    )
    assert (status, body, headers["ETag"]) == (304, b"", etag)

    # A different representation or new content has a different ETag.
    _, headers, _ = get(index_server, "/simple/acme-sdk/", {"Accept": "text/html"})
    assert headers["ETag"] != etag
    index_server.add(Release("acme-sdk", "1.1.0"))
    status, headers, _ = get(
        index_server, "/simple/acme-sdk/", {"Accept": UV_ACCEPT, "If-None-Match": etag}
    )
    assert status == 200
    assert headers["ETag"] != etag

    status, headers, body = get(
        index_server, f"/files/{index_server.token}/acme_sdk-1.0.0-py3-none-any.whl", method="HEAD"
    )
    assert status == 200
    assert body == b""
    assert int(headers["Content-Length"]) > 0


def test_outage_requests_log_and_quiet(
    index_server: IndexServer, capfd: pytest.CaptureFixture[str]
) -> None:
    index_server.add(Release("acme-sdk", "1.0.0"))
    index_server.fail = True
    assert get(index_server, "/simple/acme-sdk/")[0] == 503
    assert (
        get(index_server, f"/files/{index_server.token}/acme_sdk-1.0.0-py3-none-any.whl")[0] == 503
    )
    index_server.fail = False
    assert get(index_server, "/simple/acme-sdk/", {"X-Test": "yes"})[0] == 200
    assert [(method, path) for method, path, _ in index_server.requests] == [
        ("GET", "/simple/acme-sdk/"),
        ("GET", f"/files/{index_server.token}/acme_sdk-1.0.0-py3-none-any.whl"),
        ("GET", "/simple/acme-sdk/"),
    ]
    assert index_server.requests[-1][2]["X-Test"] == "yes"
    assert capfd.readouterr().err == ""


def test_add_rejects_duplicate_files(index_server: IndexServer) -> None:
    index_server.add(Release("acme-sdk", "1.0.0"))
    with pytest.raises(ValueError, match="already added"):
        index_server.add(Release("Acme_SDK", "1.0.0"))


# --- with the real uv ------------------------------------------------------------------


@pytest.mark.parametrize("html_only", [False, True], ids=["json", "html"])
def test_uv_installs_exact_pin_with_dependencies(
    index_server: IndexServer, venv: Path, tmp_path: Path, html_only: bool
) -> None:
    index_server.html_only = html_only
    index_server.add(
        Release("acme-sdk", "1.0.0"),
        Release("acme-sdk", "1.2.0", requires=["acme-core>=1"]),
        Release("acme-sdk", "1.3.0"),
        Release("acme-core", "0.9.0"),
        Release("acme-core", "1.1.0"),
    )
    result = pip_install(tmp_path, index_server, venv, "Acme_SDK==1.2.0")
    assert result.returncode == 0, result.stderr
    assert installed_version(venv, "acme_sdk") == "1.2.0"
    assert installed_version(venv, "acme_core") == "1.1.0"
    accepts = [h.get("Accept", "") for _, path, h in index_server.requests if "/simple/" in path]
    assert accepts
    assert all("application/vnd.pypi.simple.v1+json" in accept for accept in accepts)


@pytest.mark.parametrize("html_only", [False, True], ids=["json", "html"])
def test_uv_skips_yanked_and_incompatible_unless_pinned(
    index_server: IndexServer, venv: Path, tmp_path: Path, html_only: bool
) -> None:
    index_server.html_only = html_only
    index_server.add(
        Release("acme-sdk", "1.0.0"),
        Release("acme-sdk", "1.1.0", yanked="broken build"),
        Release("acme-sdk", "2.0.0", requires_python=">=4"),
    )
    result = pip_install(tmp_path, index_server, venv, "acme-sdk")
    assert result.returncode == 0, result.stderr
    assert installed_version(venv, "acme_sdk") == "1.0.0"

    result = pip_install(tmp_path, index_server, venv, "acme-sdk==1.1.0")
    assert result.returncode == 0, result.stderr
    assert "broken build" in result.stderr
    assert installed_version(venv, "acme_sdk") == "1.1.0"

    result = pip_install(tmp_path, index_server, venv, "acme-sdk==2.0.0")
    assert result.returncode != 0
    assert ">=4" in result.stderr


def test_uv_reads_sdist_metadata_without_building(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add(
        Release("acme-sdk", "0.5.0", requires=["acme-core"], sdist_only=True),
        Release("acme-core", "1.0.0"),
    )
    assert compile_reqs(tmp_path, index_server, "acme-sdk\n").split() == [
        "acme-core==1.0.0",
        "acme-sdk==0.5.0",
    ]
    assert ("GET", f"/files/{index_server.token}/acme_sdk-0.5.0.tar.gz") in [
        (m, p) for m, p, _ in index_server.requests
    ]


def test_uv_revalidates_with_etag_and_sees_added_releases(tmp_path: Path) -> None:
    with IndexServer(tmp_path / "index", max_age=0) as server:
        server.add(Release("acme-sdk", "1.0.0"))
        assert compile_reqs(tmp_path, server, "acme-sdk\n").split() == ["acme-sdk==1.0.0"]
        _, headers, _ = get(server, "/simple/acme-sdk/", {"Accept": UV_ACCEPT})
        server.requests.clear()

        assert compile_reqs(tmp_path, server, "acme-sdk\n").split() == ["acme-sdk==1.0.0"]
        page_requests = [h for _, path, h in server.requests if path == "/simple/acme-sdk/"]
        assert page_requests[0].get("If-None-Match") == headers["ETag"]

        server.add(Release("acme-sdk", "1.1.0"))
        assert compile_reqs(tmp_path, server, "acme-sdk\n").split() == ["acme-sdk==1.1.0"]


def test_uv_reports_outage(index_server: IndexServer, venv: Path, tmp_path: Path) -> None:
    index_server.add(Release("acme-sdk", "1.0.0"))
    index_server.fail = True
    result = pip_install(tmp_path, index_server, venv, "acme-sdk")
    assert result.returncode != 0
    assert "503" in result.stderr
