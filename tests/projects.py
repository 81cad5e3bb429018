"""Test projects: a library under test with a PEP 517 build backend of its own (in-tree,
no requirements), so that uv can build and install it offline from the local index."""

from __future__ import annotations

import textwrap
from pathlib import Path

BACKEND = '''
"""A minimal in-tree PEP 517 backend: a pure-Python wheel of the package folder."""
import base64, hashlib, pathlib, re, tomllib, zipfile

def _project():
    return tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]

def _name(project):
    return re.sub(r"[-_.]+", "_", project["name"]).lower()

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    name, version = _name(project), project["version"]
    dist_info = f"{name}-{version}.dist-info"
    files = {}
    for path in sorted(pathlib.Path(name).rglob("*.py")):
        files[path.as_posix()] = path.read_bytes()
    meta = [f"Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in project.get("dependencies", [])]
    files[f"{dist_info}/METADATA"] = ("\\n".join(meta) + "\\n").encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    record = []
    for arc, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{arc},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    wheel = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / wheel, "w") as archive:
        for arc, data in files.items():
            archive.writestr(arc, data)
    return wheel
'''


def library(
    root: Path, dependencies: list[str], modules: dict[str, str], name: str = "mylib"
) -> Path:
    """A project at ``root``: pyproject.toml with ``dependencies``, the in-tree backend, and
    ``modules`` (path -> source, e.g. ``mylib/__init__.py``)."""
    root.mkdir(parents=True, exist_ok=True)
    deps = ", ".join(f'"{d}"' for d in dependencies)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = []
            build-backend = "backend"
            backend-path = ["_build"]

            [project]
            name = "{name}"
            version = "1.0"
            dependencies = [{deps}]
            """
        )
    )
    (root / "_build").mkdir(exist_ok=True)
    (root / "_build/backend.py").write_text(BACKEND)
    for path, source in modules.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(textwrap.dedent(source))
    return root
