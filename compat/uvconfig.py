"""Which package index the cells use when compat.toml does not name one.

The order is uv's own: ``UV_DEFAULT_INDEX`` / ``UV_INDEX_URL``, then uv's configuration files
(``uv.toml`` or ``[tool.uv]`` in the project or a parent folder, then the user's and the
system's ``uv.toml``; ``UV_CONFIG_FILE`` replaces them, ``UV_NO_CONFIG`` turns them off), then
``PIP_INDEX_URL`` and pip's ``pip.conf`` (which uv does not read: the cells then pass the index
to uv explicitly), else the public index.
"""

from __future__ import annotations

import configparser
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PUBLIC_INDEX = "https://pypi.org/simple"


@dataclass(frozen=True)
class IndexSetting:
    url: str
    source: str  # where it was configured, for messages
    explicit: bool  # True: uv must be told (--default-index); False: uv finds it itself

    def uv_args(self) -> list[str]:
        return ["--default-index", self.url] if self.explicit else []


def find_index(
    root: Path, configured: str | None = None, where: str = "compat.toml"
) -> IndexSetting:
    """The index of a project at ``root``; ``configured`` is compat.toml's ``index-url``."""
    if configured:
        return IndexSetting(configured.rstrip("/"), where, True)
    for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL"):
        if os.environ.get(var):
            return IndexSetting(os.environ[var].rstrip("/"), var, False)
    for path in uv_config_files(root):
        url = _uv_index(path)
        if url:
            return IndexSetting(url.rstrip("/"), str(path), False)
    if os.environ.get("PIP_INDEX_URL"):
        return IndexSetting(os.environ["PIP_INDEX_URL"].rstrip("/"), "PIP_INDEX_URL", True)
    for path in _pip_config_files():
        url = _pip_index(path)
        if url:
            return IndexSetting(url.rstrip("/"), str(path), True)
    return IndexSetting(PUBLIC_INDEX, "the default", False)


def uv_config_files(root: Path) -> list[Path]:
    if os.environ.get("UV_NO_CONFIG"):
        return []
    if os.environ.get("UV_CONFIG_FILE"):
        return [Path(os.environ["UV_CONFIG_FILE"])]
    files: list[Path] = []
    for folder in (root.resolve(), *root.resolve().parents):
        if (folder / "uv.toml").is_file():
            files.append(folder / "uv.toml")
            break
        if (folder / "pyproject.toml").is_file() and _table(folder / "pyproject.toml", True):
            files.append(folder / "pyproject.toml")
            break
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    files.append(Path(config_home) / "uv" / "uv.toml")
    dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    system = [Path(d) / "uv" / "uv.toml" for d in dirs.split(os.pathsep) if d]
    files.append(next((p for p in [*system, Path("/etc/uv/uv.toml")] if p.is_file()), system[0]))
    return [p for p in files if p.is_file()]


def _table(path: Path, pyproject: bool) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if pyproject:
        data = data.get("tool", {}).get("uv", {})
    return data if isinstance(data, dict) else {}


def _uv_index(path: Path) -> str | None:
    table = _table(path, path.name == "pyproject.toml")
    pip = table.get("pip", {})
    if isinstance(pip, dict) and isinstance(pip.get("index-url"), str):
        return pip["index-url"]
    for index in table.get("index", []) if isinstance(table.get("index"), list) else []:
        if isinstance(index, dict) and index.get("default") and isinstance(index.get("url"), str):
            return index["url"]
    url = table.get("index-url")
    return url if isinstance(url, str) else None


def _pip_config_files() -> list[Path]:
    if os.environ.get("PIP_CONFIG_FILE"):
        return [Path(os.environ["PIP_CONFIG_FILE"])]
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    files = [Path(config_home) / "pip" / "pip.conf", Path.home() / ".pip" / "pip.conf"]
    dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files += [Path(d) / "pip" / "pip.conf" for d in dirs.split(os.pathsep) if d]
    files.append(Path("/etc/pip.conf"))
    if os.environ.get("VIRTUAL_ENV"):
        files.insert(0, Path(os.environ["VIRTUAL_ENV"]) / "pip.conf")
    return [p for p in files if p.is_file()]


def _pip_index(path: Path) -> str | None:
    """``index-url`` of a pip.conf, read as pip reads it: no interpolation (a ``%`` in a
    percent-encoded password is a ``%``), ``index_url`` the same key, ``[install]`` first."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    for section in ("install", "global"):
        for key in ("index-url", "index_url"):
            if parser.has_option(section, key):
                return parser.get(section, key).strip() or None
    return None
