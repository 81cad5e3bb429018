"""`compat apidiff`: one test per class of failure found on real releases (issue 10), each with
an invented package served by the local test index.

1 star re-exports, 2 one side annotated, 3 methods of the package's own classes, 4 keywords
forwarded through ``**kwargs``, 5 imports through importlib/importorskip/helpers, 6 duck-typed
method calls, 7 removed positional parameters, 8 full-mode noise and the output that says
what was checked.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release

from compat.apidiff.diff import full_diff, targeted_diff
from compat.cli import main
from compat.index import IndexClient


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def publish(index: IndexServer, old: dict[str, str], new: dict[str, str]) -> IndexClient:
    index.add(Release("acme-sdk", "1.0", modules=old), Release("acme-sdk", "2.0", modules=new))
    return IndexClient(index.simple_url)


def check(index: IndexServer, tmp_path: Path, old: dict, new: dict, code: str) -> dict:
    """The targeted findings, by object path: {path: (rank, kind, message)}."""
    client = publish(index, old, new)
    user = tmp_path / "use_acme.py"
    user.write_text(src(code))
    found = targeted_diff(client, "acme-sdk", "1.0", "2.0", [user]).breakages
    return {b.object_path: (b.rank, b.kind, b.message) for b in found}


# -- 1: names re-exported with `from .x import *` ------------------------------------------------

CORE = src("""
    class Client:
        def send(self, text):
            return text


    def helper():
        return 1
""")


def test_star_reexport_found_whatever_was_read_before(index_server, tmp_path):
    """A safe release that switched to `from .core import *`: nothing is removed, whether or not
    `acme.core` was read before `acme.Client` is looked up."""
    old = {"acme/__init__.py": "from .core import Client, helper\n", "acme/core.py": CORE}
    new = {"acme/__init__.py": "from .core import *\n", "acme/core.py": CORE}
    code = """
        import acme.core
        from acme import Client

        acme.core.helper()
        Client().send("hi")
    """
    assert check(index_server, tmp_path, old, new, code) == {}


def test_star_reexport_removal_found_in_any_order(index_server, tmp_path):
    """The old release re-exports with `*`; the new one drops a name. Reported as certain, and
    the same whichever use comes first in the file."""
    old = {"acme/__init__.py": "from .core import *\n", "acme/core.py": CORE}
    new = {
        "acme/__init__.py": "from .core import Client\n",
        "acme/core.py": CORE,
    }
    first = """
        import acme.core
        from acme import Client, helper

        acme.core.Client().send("hi")
        helper()
    """
    second = """
        from acme import Client, helper
        import acme.core

        helper()
        acme.core.Client().send("hi")
    """
    one = check(index_server, tmp_path, old, new, first)
    other = targeted_diff(
        IndexClient(index_server.simple_url),
        "acme-sdk",
        "1.0",
        "2.0",
        [_write(tmp_path / "second.py", second)],
    ).breakages
    assert one["acme.helper"][:2] == ("certain", "object-removed")
    assert {b.object_path: (b.rank, b.kind) for b in other} == {p: v[:2] for p, v in one.items()}


def _write(path: Path, code: str) -> Path:
    path.write_text(src(code))
    return path


# -- 2: one release annotates what a function returns, the other does not ------------------------


def test_type_known_on_one_side_is_looked_up_on_the_other(index_server, tmp_path):
    old = {
        "acme/__init__.py": src("""
            class Engine:
                def execute(self, sql):
                    return sql

                def dispose(self):
                    pass


            def create_engine(url):
                return Engine()
        """)
    }
    new = {
        "acme/__init__.py": src("""
            class Engine:
                def dispose(self):
                    pass


            def create_engine(url) -> Engine:
                return Engine()
        """)
    }
    code = """
        import acme

        engine = acme.create_engine("sqlite://")
        engine.execute("select 1")
        engine.dispose()
    """
    found = check(index_server, tmp_path, old, new, code)
    assert found == {
        "acme.create_engine().execute": (
            "certain",
            "object-removed",
            "acme.create_engine().execute: was removed",
        )
    }


# -- 3: a method the package defined on a class that also has a third-party base -----------------


def test_own_method_removed_from_class_with_external_base_is_certain(index_server, tmp_path):
    old = {
        "acme/__init__.py": src("""
            from thirdparty import Base


            class Store(Base):
                def put(self, key):
                    return key
        """)
    }
    new = {"acme/__init__.py": "from thirdparty import Base\n\n\nclass Store(Base):\n    pass\n"}
    code = 'import acme\n\nacme.Store().put("k")\n'
    assert check(index_server, tmp_path, old, new, code)["acme.Store().put"][0] == "certain"


def test_method_may_come_from_a_new_external_base(index_server, tmp_path):
    old = {"acme/__init__.py": "class Store:\n    def put(self, key):\n        return key\n"}
    new = {"acme/__init__.py": "from thirdparty import Base\n\n\nclass Store(Base):\n    pass\n"}
    found = check(index_server, tmp_path, old, new, 'import acme\n\nacme.Store().put("k")\n')
    rank, _, message = found["acme.Store().put"]
    assert rank == "possible" and "thirdparty.Base" in message


# -- 4: keywords passed on through **kwargs --------------------------------------------------------

FIELD_OLD = src("""
    class Field:
        def __init__(self, default=None, required=False):
            self.default = default


    class Number(Field):
        def __init__(self, *, strict=False, **kwargs):
            super().__init__(**kwargs)


    class Integer(Number):
        def __init__(self, **kwargs):
            kwargs.pop("as_string", None)
            Number.__init__(self, **kwargs)
""")
FIELD_NEW = FIELD_OLD.replace("default=None, required=False", "required=False")


def test_keyword_forwarded_to_a_base_init_is_checked(index_server, tmp_path):
    old = {"acme/__init__.py": FIELD_OLD}
    new = {"acme/__init__.py": FIELD_NEW}
    code = """
        import acme

        acme.Integer(default=20, required=True)
        acme.Integer(as_string=True)
    """
    found = check(index_server, tmp_path, old, new, code)
    assert list(found) == ["acme.Integer"]
    rank, kind, message = found["acme.Integer"]
    assert (rank, kind) == ("certain", "parameter-removed")
    assert "'default'" in message and "acme.Field.__init__" in message


def test_keyword_into_kwargs_we_cannot_follow_is_only_possible(index_server, tmp_path):
    forwarding = "        super().__init__(**kwargs)\n"
    untraced = "        super().__init__()\n        self.options = kwargs\n"
    assert forwarding in FIELD_NEW
    old = {"acme/__init__.py": FIELD_OLD}
    new = {"acme/__init__.py": FIELD_NEW.replace(forwarding, untraced)}
    found = check(index_server, tmp_path, old, new, "import acme\n\nacme.Number(default=1)\n")
    assert found["acme.Number"][:2] == ("possible", "parameter-removed")


# -- 5: imports the plain `import` statement does not show ----------------------------------------


def test_importlib_importorskip_and_helpers_are_imports(index_server, tmp_path):
    old = {
        "acme/__init__.py": "class Client:\n    def __init__(self, key, region='eu'):\n        pass\n",
        "acme/legacy.py": "def old():\n    pass\n",
    }
    new = {"acme/__init__.py": "class Client:\n    def __init__(self, key):\n        pass\n"}
    code = """
        import importlib

        import pytest


        def need(module):
            return pytest.importorskip(module)


        def test_client():
            acme = need("acme")
            acme.Client("k", region="us")


        def test_legacy():
            legacy = importlib.import_module("acme.legacy")
            legacy.old()
    """
    found = check(index_server, tmp_path, old, new, code)
    assert found["acme.Client"][:2] == ("certain", "parameter-removed")
    assert found["acme.legacy"][:2] == ("certain", "object-removed")


# -- 6: a method called on an object whose type the code does not show -----------------------------


def test_removed_method_called_on_an_unknown_object_is_possible(index_server, tmp_path):
    old = {
        "acme/__init__.py": "from acme._http import fetch\n",
        "acme/_http.py": src("""
            class Response:
                def read(self):
                    return b""

                def close(self):
                    pass


            def fetch(url):
                return Response()
        """),
    }
    new = {
        "acme/__init__.py": "from acme._http import fetch\n",
        "acme/_http.py": src("""
            class Response:
                def close(self):
                    pass


            def fetch(url):
                return Response()
        """),
    }
    code = """
        import acme


        class Mine:
            def close(self):
                pass


        def test_fetch(response_factory):
            response = acme.fetch("https://example.org")
            response.read()
            response.close()
            response_factory().read()
            {}.get("x")
    """
    found = check(index_server, tmp_path, old, new, code)
    assert list(found) == ["acme._http.Response.read"]
    rank, kind, message = found["acme._http.Response.read"]
    assert (rank, kind) == ("possible", "object-removed")
    assert ".read()" in message


# -- 7: positional parameters ----------------------------------------------------------------------


def test_removed_positional_parameter_is_certain(index_server, tmp_path):
    old = {
        "acme/__init__.py": "def send(text, retries):\n    pass\n\n\ndef log(a, b, c=0):\n    pass\n"
    }
    new = {"acme/__init__.py": "def send(text):\n    pass\n\n\ndef log(a, c=0):\n    pass\n"}
    code = """
        import acme

        acme.send("hi", 3)
        acme.log(1, 2)
    """
    found = check(index_server, tmp_path, old, new, code)
    assert found["acme.send"][:2] == ("certain", "parameter-removed")
    assert "passes 2" in found["acme.send"][2]
    assert found["acme.log"][:2] == ("possible", "parameter-moved")


# -- 8: full mode on a release that changes nothing users touch; what targeted mode checked --------

QUIET_OLD = {
    "acme/__init__.py": "from acme.api import Client\nFactory = make()\n__version__ = '1.0'\n",
    "acme/api.py": "class Client:\n    def send(self, text, timeout=1, retry=0, trace=None, x=1):\n        pass\n",
    "acme/_internal.py": "def helper(a):\n    pass\n",
    "acme/experimental/__init__.py": "def preview(a):\n    pass\n",
}
QUIET_NEW = {
    "acme/__init__.py": "from acme.api import Client\n\n\nclass Factory:\n    pass\n",
    "acme/api.py": "class Client:\n    def send(self, text, timeout=1, retry=0, x=1, trace=None):\n        pass\n",
    "acme/_internal.py": "def helper():\n    pass\n",
    "acme/experimental/__init__.py": "def preview():\n    pass\n",
}


def test_full_mode_hides_what_users_do_not_touch(index_server):
    client = publish(index_server, QUIET_OLD, QUIET_NEW)
    result = full_diff(client, "acme-sdk", "1.0", "2.0")
    assert result.breakages == []
    reasons = sorted(b.hidden for b in result.hidden)
    assert len(reasons) >= 4 and all(reasons)
    assert {"special name", "experimental, internal or a tool plugin"} <= set(reasons)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["apidiff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(index_server, tmp_path, monkeypatch) -> Path:
    publish(index_server, QUIET_OLD, QUIET_NEW)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_acme.py").write_text(
        "import acme\n\n\ndef test_send():\n    acme.Client().send('hi', timeout=2)\n"
    )
    (tmp_path / "compat.toml").write_text(
        f'[settings]\nindex-url = "{index_server.simple_url}"\n'
        '[integrations.acme]\npackage = "acme-sdk"\nmin = "1.0"\ntests = ["tests/test_acme.py"]\n'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_targeted_output_says_what_it_checked(project, capsys):
    code, out, _ = run_cli(capsys, "acme-sdk", "1.0", "2.0")
    assert code == 0
    assert "(targeted API diff): 3 uses of acme-sdk checked, none broken" in out
    code, out, _ = run_cli(capsys, "acme-sdk", "1.0", "2.0", "--json")
    assert json.loads(out)["uses_checked"] == 3


def test_full_flag_inside_a_project(project, capsys):
    code, out, _ = run_cli(capsys, "acme-sdk", "1.0", "2.0", "--full")
    assert code == 0
    head = out.splitlines()[0]
    assert "(full API diff): no breaking change found" in head and "hidden" in head
    code, out, _ = run_cli(capsys, "acme-sdk", "1.0", "2.0", "--full", "--json")
    data = json.loads(out)
    assert data["mode"] == "full" and data["breakages"] == [] and data["hidden"]
