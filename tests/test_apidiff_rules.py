"""`compat apidiff`: faults found on the real-release corpus beyond the eight classes of issue
10 (``benchmarks/apidiff_corpus.py``), each with an invented package on the local index."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pkgindex import IndexServer, Release

from compat.apidiff.diff import full_diff, targeted_diff
from compat.index import IndexClient
from compat.uses import extract


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def check(index: IndexServer, tmp_path: Path, old: dict, new: dict, code: str) -> dict:
    index.add(Release("acme-sdk", "1.0", modules=old), Release("acme-sdk", "2.0", modules=new))
    user = tmp_path / "use_acme.py"
    user.write_text(src(code))
    client = IndexClient(index.simple_url)
    found = targeted_diff(client, "acme-sdk", "1.0", "2.0", [user]).breakages
    return {b.object_path: (b.rank, b.kind, b.message) for b in found}


def test_names_only_a_stub_declares(index_server, tmp_path):
    """numpy: `float_` exists only in `__init__.pyi`; `product` comes through `from .core
    import *` of a module whose stub says `__all__: list[str]` without listing names."""
    core = "__all__ = ['product', 'total']\n\n\ndef product(a):\n    pass\n\n\ndef total(a):\n    pass\n"
    core_stub = "__all__: list[str]\n\ndef product(a): ...\ndef total(a): ...\n"
    old = {
        "acme/__init__.py": "from .core import *\nglobals().update(make_aliases())\n",
        "acme/__init__.pyi": "from .core import *\nfloat_ = float\n",
        "acme/core.py": core,
        "acme/core.pyi": core_stub,
    }
    new = {
        "acme/__init__.py": "from .core import *\n",
        "acme/__init__.pyi": "from .core import *\n",
        "acme/core.py": core.replace("'product', ", ""),
        "acme/core.pyi": core_stub.replace("def product(a): ...\n", ""),
    }
    code = "import acme\n\nacme.float_(1)\nacme.product([1])\nacme.total([1])\n"
    found = check(index_server, tmp_path, old, new, code)
    assert {p: v[:2] for p, v in found.items()} == {
        "acme.float_": ("certain", "object-removed"),
        "acme.product": ("certain", "object-removed"),
    }


def test_a_class_attribute_its_metaclass_provides(index_server, tmp_path):
    """urllib3 1.26: `Retry.DEFAULT_METHOD_WHITELIST` was a property of the metaclass."""
    old = {
        "acme/__init__.py": src("""
            import six


            class _Meta(type):
                @property
                def DEFAULT_WHITELIST(cls):
                    return cls.DEFAULT_ALLOWED


            @six.add_metaclass(_Meta)
            class Retry:
                DEFAULT_ALLOWED = frozenset()
        """)
    }
    new = {"acme/__init__.py": "class Retry:\n    DEFAULT_ALLOWED = frozenset()\n"}
    found = check(index_server, tmp_path, old, new, "import acme\n\nacme.Retry.DEFAULT_WHITELIST\n")
    assert found["acme.Retry.DEFAULT_WHITELIST"][:2] == ("certain", "object-removed")


def test_a_keyword_the_new_release_takes_only_to_refuse(index_server, tmp_path):
    """pydantic 2: `regex = extra.pop("regex", None); if regex is not None: raise …`."""
    old = {"acme/__init__.py": "def Field(default=None, regex=None):\n    pass\n"}
    new = {
        "acme/__init__.py": src("""
            def Field(default=None, **extra):
                regex = extra.pop("regex", None)
                if regex is not None:
                    raise TypeError("`regex` is removed, use `pattern`")
                return extra
        """)
    }
    found = check(index_server, tmp_path, old, new, "import acme\n\nacme.Field(regex='x')\n")
    rank, kind, message = found["acme.Field"]
    assert (rank, kind) == ("certain", "parameter-removed") and "now raises" in message


def test_a_name_the_old_module_exported_lazily(index_server, tmp_path):
    """flask 2.3: `Markup` came from `flask.__getattr__` (deprecated); flask 3.0 dropped it."""
    getattr_old = src("""
        def __getattr__(name):
            if name == "Markup":
                import markupsafe

                return markupsafe.Markup
            raise AttributeError(name)
    """)
    getattr_new = src("""
        def __getattr__(name):
            if name == "__version__":
                return "3"
            raise AttributeError(name)
    """)
    old = {"acme/__init__.py": getattr_old}
    new = {"acme/__init__.py": getattr_new}
    found = check(index_server, tmp_path, old, new, "from acme import Markup\n")
    rank, _, message = found["acme.Markup"]
    assert rank == "certain" and "__getattr__" in message


def test_a_getattr_that_provides_any_name_makes_removal_possible(index_server, tmp_path):
    old = {"acme/__init__.py": "def helper():\n    pass\n"}
    new = {
        "acme/__init__.py": src("""
            import importlib


            def __getattr__(name):
                return getattr(importlib.import_module("acme._impl"), name)
        """)
    }
    found = check(index_server, tmp_path, old, new, "import acme\n\nacme.helper()\n")
    assert found["acme.helper"][0] == "possible"


def test_a_generic_base_inside_the_package_is_not_external(index_server, tmp_path):
    """sqlalchemy 2: `class Engine(Inspectable["Inspector"])` is a base of the package's own."""
    body = src("""
        from typing import Generic, TypeVar

        T = TypeVar("T")


        class Inspectable(Generic[T]):
            pass


        class Engine(Inspectable["Inspector"]):
            def connect(self):
                pass
    """)
    old = {"acme/__init__.py": body + "\n    def execute(self, sql):\n        pass\n"}
    new = {"acme/__init__.py": body}
    found = check(index_server, tmp_path, old, new, "import acme\n\nacme.Engine().execute('x')\n")
    assert found["acme.Engine().execute"][0] == "certain"


def test_a_local_factory_function_keeps_the_type():
    """flask: `app = create_app()` where `create_app` returns a `Flask`."""
    uses = extract(
        src("""
            import flask


            def create_app():
                app = flask.Flask(__name__)
                return app


            def make_client() -> flask.testing.FlaskClient:
                return create_app().test_client()


            create_app().before_first_request(print)
            make_client().get("/")
        """),
        "x.py",
    )
    paths = {u.path for u in uses if u.kind == "call"}
    assert "flask.Flask().before_first_request" in paths
    assert "flask.testing.FlaskClient().get" in paths


def test_a_method_called_on_what_no_release_annotates(index_server, tmp_path):
    """Pillow 10: `font = ImageFont.load_default(); font.getsize(...)`, unannotated in both."""
    module = src("""
        class ImageFont:
            def getbbox(self, text):
                pass

            def getsize(self, text):
                pass


        def load_default():
            return ImageFont()
    """)
    old = {"acme/__init__.py": "", "acme/ImageFont.py": module}
    new = {
        "acme/__init__.py": "",
        "acme/ImageFont.py": module.replace("    def getsize(self, text):\n        pass\n", ""),
    }
    code = "from acme import ImageFont\n\nfont = ImageFont.load_default()\nfont.getsize('x')\n"
    found = check(index_server, tmp_path, old, new, code)
    assert found["acme.ImageFont.ImageFont.getsize"][:2] == ("possible", "object-removed")


def test_full_mode_survives_class_aliases_pointing_outside(index_server):
    """django 5: `numeric = psycopg.types.numeric` in a class body broke griffe's diff."""
    body = src("""
        class Base:
            from psycopg.types import numeric


        class Operations(Base):
            def quote(self, name):
                pass

            def explain(self, query):
                pass
    """)
    index_server.add(
        Release("acme-sdk", "1.0", modules={"acme/__init__.py": body}),
        Release(
            "acme-sdk", "2.0", modules={"acme/__init__.py": body.split("\n\n    def explain")[0]}
        ),
    )
    found = full_diff(IndexClient(index_server.simple_url), "acme-sdk", "1.0", "2.0")
    assert [b.object_path for b in found.breakages] == ["acme.Operations.explain"]
    assert found.notes == []
