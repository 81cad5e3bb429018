"""`compat apidiff`: static API diffs of real wheels/sdists served by the local test index."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release

from compat.apidiff import Breakage
from compat.apidiff.diff import full_diff, targeted_diff
from compat.apidiff.dists import top_level_names, unpacked
from compat.cli import main
from compat.index import IndexClient
from compat.uses import extract

PYPI = "https://pypi.org/simple"


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


# The distribution is "acme-sdk"; it installs the import package "acme".
V1 = {
    "acme/__init__.py": src("""
        from acme.client import Client
        from acme.extras import Widget
        from acme.legacy import LegacyClient
        __all__ = ["Client", "LegacyClient", "Widget"]
    """),
    "acme/client.py": src("""
        class Client:
            def __init__(self, api_key: str, timeout: float = 10.0) -> None:
                self.api_key = api_key

            def send(self, message: str, retries: int = 3) -> str:
                return message

            def close(self) -> None:
                pass
    """),
    "acme/extras.py": "class Widget:\n    pass\n",
    "acme/legacy.py": "class LegacyClient:\n    pass\n",
    "acme/helpers.py": "def slugify(text: str, sep: str = '-') -> str:\n    return text\n",
    "acme/tools.py": src("""
        class BaseTool:
            def run(self, query: str) -> str:
                return self._run(query)

            def _run(self, query: str) -> str:
                raise NotImplementedError
    """),
}

V2 = {
    # LegacyClient is gone; Widget is now a lazy export behind a module __getattr__.
    "acme/__init__.py": src("""
        import importlib
        from acme.client import Client
        __all__ = ["Client"]
        _LAZY = {"Widget": "acme._extras"}

        def __getattr__(name):
            if name in _LAZY:
                return getattr(importlib.import_module(_LAZY[name]), name)
            raise AttributeError(name)
    """),
    # `retries` renamed to `max_retries`, `region` newly required, `close` removed.
    "acme/client.py": src("""
        class Client:
            def __init__(self, api_key: str, region: str, timeout: float = 10.0) -> None:
                self.api_key = api_key

            def send(self, message: str, max_retries: int = 3) -> str:
                return message
    """),
    "acme/_extras.py": "class Widget:\n    pass\n",
    # The module moved to acme.text.slug; acme.helpers keeps a re-export.
    "acme/helpers.py": "from acme.text.slug import slugify\n",
    "acme/text/__init__.py": "",
    "acme/text/slug.py": "def slugify(text: str, sep: str = '-') -> str:\n    return text\n",
    # The `_run` hook was renamed `_execute`.
    "acme/tools.py": src("""
        class BaseTool:
            def run(self, query: str) -> str:
                return self._execute(query)

            def _execute(self, query: str) -> str:
                raise NotImplementedError
    """),
}

USER_CODE = src("""
    from acme import Client, LegacyClient, Widget
    from acme.helpers import slugify
    from acme.tools import BaseTool


    class MyTool(BaseTool):
        def _run(self, query):
            return slugify(query)


    def test_client():
        client = Client(api_key="k")
        assert client.send("hi", retries=2) == "hi"
        assert LegacyClient and Widget
""")


@pytest.fixture
def acme(index_server: IndexServer) -> IndexServer:
    index_server.add(
        Release("acme-sdk", "1.0", modules=V1),
        Release("acme-sdk", "2.0", modules=V2),
        Release("acme-sdk", "2.0.1", modules=V2),
    )
    return index_server


@pytest.fixture
def user_code(tmp_path: Path) -> Path:
    path = tmp_path / "proj" / "tests" / "test_acme.py"
    path.parent.mkdir(parents=True)
    path.write_text(USER_CODE)
    return path


def by_path(found: list[Breakage]) -> dict[str, list[Breakage]]:
    out: dict[str, list[Breakage]] = {}
    for item in found:
        out.setdefault(item.object_path, []).append(item)
    return out


def lines(item: Breakage) -> list[int]:
    return [int(w.rsplit(":", 1)[1]) for w in item.used_at]


@pytest.fixture
def targeted(acme: IndexServer, user_code: Path) -> dict[str, list[Breakage]]:
    client = IndexClient(acme.simple_url)
    return by_path(targeted_diff(client, "acme-sdk", "1.0", "2.0", [user_code]).breakages)


def test_removed_class_that_is_imported_is_certain(targeted):
    [item] = targeted["acme.LegacyClient"]
    assert (item.rank, item.kind) == ("certain", "object-removed")
    assert "from acme import LegacyClient" in item.message
    assert lines(item) == [1]
    assert item.used_at[0].endswith("test_acme.py:1")


def test_renamed_keyword_that_is_passed_is_certain(targeted):
    [item] = targeted["acme.Client().send"]
    assert (item.rank, item.kind) == ("certain", "parameter-removed")
    assert "'retries'" in item.message and "renamed to 'max_retries'" in item.message
    assert lines(item) == [13]


def test_newly_required_parameter_of_a_called_class_is_certain(targeted):
    [item] = targeted["acme.Client"]
    assert (item.rank, item.kind) == ("certain", "parameter-added-required")
    assert "'region'" in item.message
    assert lines(item) == [12]


def test_removed_method_that_is_overridden_is_certain(targeted):
    [item] = targeted["acme.tools.BaseTool._run"]
    assert (item.rank, item.kind) == ("certain", "object-removed")
    assert "override" in item.message
    assert lines(item) == [7]


def test_moved_module_with_a_re_export_is_no_breakage(targeted):
    assert not [p for p in targeted if "slugify" in p or "helpers" in p]


def test_lazy_getattr_export_is_only_possible(targeted):
    [item] = targeted["acme.Widget"]
    assert item.rank == "possible"
    assert "__getattr__" in item.message


def test_unrelated_removal_only_in_full_mode(acme, targeted):
    assert not [p for p in targeted if "close" in p]
    full = by_path(full_diff(IndexClient(acme.simple_url), "acme-sdk", "1.0", "2.0").breakages)
    [close] = full["acme.client.Client.close"]
    assert (close.rank, close.kind, close.used_at) == ("certain", "object-removed", [])
    assert "acme.client.Client.send" in full  # griffe: parameter removed
    assert "acme.helpers.slugify" not in full  # the re-export keeps it
    assert {b.rank for b in full["acme.Widget"]} == {"possible"}


def test_same_api_gives_nothing(acme, user_code):
    client = IndexClient(acme.simple_url)
    assert targeted_diff(client, "acme-sdk", "2.0", "2.0.1", [user_code]).breakages == []
    same = full_diff(client, "acme-sdk", "2.0", "2.0.1")
    assert same.breakages == same.hidden == []


def test_sdist_only_release_is_unpacked_not_built(index_server, tmp_path):
    marker = tmp_path / "setup-ran"
    setup = f"open({str(marker)!r}, 'w').close()\n"
    modules = {"setup.py": setup, "src/acme/__init__.py": "def hello(name):\n    pass\n"}
    index_server.add(
        Release(
            "acme-sdk", "1.0", modules={"acme/__init__.py": "def hello(name, loud):\n    pass\n"}
        ),
        Release("acme-sdk", "1.1", modules=modules, sdist_only=True),
    )
    client = IndexClient(index_server.simple_url)
    tree = unpacked(client, "acme-sdk", "1.1")
    assert (tree / "src/acme/__init__.py").is_file() and (tree / "PKG-INFO").is_file()
    assert top_level_names(tree) == ["acme"]
    assert unpacked(client, "acme-sdk", "1.1") == tree  # reused from the cache
    code = tmp_path / "use.py"
    code.write_text("import acme\nacme.hello('x', loud=True)\n")
    [item] = targeted_diff(client, "acme-sdk", "1.0", "1.1", [code]).breakages
    assert (item.rank, item.kind, item.object_path) == (
        "certain",
        "parameter-removed",
        "acme.hello",
    )
    assert not marker.exists()  # upstream code never ran


def test_uses_extraction():
    code = src("""
        import acme.sub as s
        from acme import Client as C
        try:
            from acme import Maybe
        except ImportError:
            Maybe = None
        c = C(key=1)
        c.chat.completions.create(model="m", *args)
        s.helper
        class T(C):
            def go(self):
                return super().go(fast=True)
    """)
    uses = {(u.kind, u.path): u for u in extract(code, "x.py")}
    assert uses["import", "acme.sub"].where == "x.py:1"
    assert uses["import", "acme.Maybe"].guarded
    assert uses["call", "acme.Client"].keywords == ("key",)
    create = uses["call", "acme.Client().chat.completions.create"]
    assert (create.keywords, create.star, create.where) == (("model",), True, "x.py:8")
    assert ("attribute", "acme.sub.helper") in uses
    assert ("subclass", "acme.Client") in uses
    assert ("override", "acme.Client.go") in uses
    assert uses["call", "acme.Client().go"].keywords == ("fast",)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["apidiff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_targeted_json_and_exit_codes(acme, user_code, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no compat.toml here
    url = ["--index-url", acme.simple_url]
    code, out, _ = run_cli(
        capsys, "acme-sdk", "1.0", "2.0", "--uses", str(user_code), "--json", *url
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["mode"] == "targeted"
    assert doc["breakages"][0]["rank"] == "certain"
    assert {b["rank"] for b in doc["breakages"]} == {"certain", "possible"}

    code, out, _ = run_cli(capsys, "acme-sdk", "1.0", "2.0", "--uses", str(user_code), *url)
    assert code == 1
    assert "certain" in out and "used at proj/tests/test_acme.py:13" in out

    code, out, _ = run_cli(capsys, "acme-sdk", "2.0", "2.0.1", "--uses", str(user_code), *url)
    assert code == 0 and "uses of acme-sdk checked, none broken" in out

    code, out, _ = run_cli(capsys, "acme-sdk", "1.0", "2.0", *url)  # full mode
    assert code == 1 and "acme.client.Client.close" in out


def test_cli_errors(acme, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    url = ["--index-url", acme.simple_url]
    code, _, err = run_cli(capsys, "acme-sdk", "1.0", "9.9", *url)
    assert code == 2 and "no release 9.9" in err and "2.0.1" in err
    code, _, err = run_cli(capsys, "nope-sdk", "1.0", "2.0", *url)
    assert code == 2 and "not found" in err
    code, _, err = run_cli(capsys, "acme-sdk", "1.0", "2.0", "--uses", "missing.py", *url)
    assert code == 2 and "missing.py" in err


def test_cli_defaults_to_the_integration_tests(acme, user_code, capsys):
    root = user_code.parent.parent
    (root / "compat.toml").write_text(
        f'[settings]\nindex-url = "{acme.simple_url}"\n'
        '[integrations.acme]\npackage = "acme-sdk"\nmin = "1.0"\n'
        'tests = ["tests/test_acme.py"]\n'
    )
    code, out, _ = run_cli(capsys, "acme-sdk", "1.0", "2.0", "--config", str(root / "compat.toml"))
    assert code == 1
    assert "targeted" in out and "test_acme.py:13" in out


# ------------------------------------------------------------------ live, on PyPI


@pytest.mark.network
def test_live_known_breaking_pair(tmp_path):
    code = tmp_path / "settings.py"
    code.write_text("from pydantic import BaseSettings\n\nclass S(BaseSettings):\n    x: int = 1\n")
    found = targeted_diff(IndexClient(PYPI), "pydantic", "1.10.13", "2.0", [code])
    certain = found.certain
    assert [b.object_path for b in certain] == ["pydantic.BaseSettings"]
    assert [w.rsplit("/", 1)[-1] for w in certain[0].used_at] == ["settings.py:1", "settings.py:3"]


@pytest.mark.network
def test_live_benign_patch_pair(tmp_path):
    code = tmp_path / "use_requests.py"
    code.write_text(
        src("""
        import requests
        from requests.adapters import HTTPAdapter

        session = requests.Session()
        session.mount("https://", HTTPAdapter(max_retries=3))
        response = session.get("https://example.org", timeout=5, allow_redirects=True)
        response.raise_for_status()
        requests.post("https://example.org", json={}, timeout=5)
    """)
    )
    found = targeted_diff(IndexClient(PYPI), "requests", "2.32.2", "2.32.3", [code])
    assert found.certain == []


def test_the_whole_library_is_checked_by_default(acme, tmp_path, capsys):
    """The break sits in another module of the library than `file` and the tests."""
    root = tmp_path / "lib"
    (root / "tests").mkdir(parents=True)
    (root / "tests/test_acme.py").write_text("from acme import Client\n\nClient(api_key='k')\n")
    (root / "mylib/integrations").mkdir(parents=True)
    (root / "mylib/__init__.py").write_text("")
    (root / "mylib/integrations/__init__.py").write_text("")
    (root / "mylib/integrations/acme.py").write_text("import acme\n")
    (root / "mylib/adapters.py").write_text(
        "from acme import LegacyClient\n\n\ndef legacy():\n    return LegacyClient()\n"
    )
    # No import of acme here: `.close()` is on the library's own objects, not a use.
    (root / "mylib/pool.py").write_text("def drain(conn):\n    conn.close()\n")
    (root / "compat.toml").write_text(
        f'[settings]\nindex-url = "{acme.simple_url}"\n'
        '[integrations.acme]\npackage = "acme-sdk"\nmin = "1.0"\n'
        'tests = ["tests/test_acme.py"]\nfile = "mylib/integrations/acme.py"\n'
    )
    code, out, _ = run_cli(capsys, "acme-sdk", "1.0", "2.0", "--config", str(root / "compat.toml"))
    assert code == 1
    assert "acme.LegacyClient" in out and "adapters.py:1" in out
    assert "pool.py" not in out
