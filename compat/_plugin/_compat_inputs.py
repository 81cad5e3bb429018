"""Records what a Python process of a compat cell reads from outside its environment.

Copied into the cell's virtualenv beside ``_compat_inputs.pth``, which imports it in every
Python process of that virtualenv; it does nothing unless ``COMPAT_INPUTS`` names a folder
(the runner sets it for the test step only, so subprocesses that inherit the environment
record too). Standard library only, Python 3.9+. Through an audit hook (PEP 578), each
process appends one line per new observation to ``$COMPAT_INPUTS/<pid>.log`` as soon as it
is made, so ``os._exit``, ``fork`` and ``kill`` lose nothing::

    r <path>        a file (or folder) opened for reading, or a module's file
    l <path>        a folder listed by the code (every name counts)
    c <path>        a folder listed by pytest's collection
    i <path>        a folder listed by the import system, importlib.metadata or the
                    project's nox-compat notices module (names of modules and distributions
                    count)
    n <host> <port> a connection to an address that is not loopback
    x <reason>      something it cannot follow (a non-Python subprocess, a Python one
                    without the recording): the cell is keyed by the whole project tree

Paths inside the virtualenv, the interpreter, ``$COMPAT_TMP`` (the cell's own temporary
folder), ``/dev``, ``/proc`` and ``/sys`` are not recorded, nor ``__pycache__``.
"""

import atexit
import os
import sys

FOLDER = os.environ.get("COMPAT_INPUTS", "")
NOTICES = os.environ.get("COMPAT_NOTICES", "")  # nox-compat's notices module: lists dist-infos


def _prefixes() -> tuple:
    roots = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    roots |= {os.path.realpath(r) for r in list(roots)}
    extra = [os.environ.get("COMPAT_TMP", ""), FOLDER, os.path.dirname(os.path.abspath(__file__))]
    roots |= {os.path.realpath(e) for e in extra if e} | {e for e in extra if e}
    return tuple(os.path.join(r, "") for r in roots if r) + ("/dev/", "/proc/", "/sys/")


_SKIP = _prefixes()
_SKIP_EXACT = frozenset(p.rstrip(os.sep) for p in _SKIP)
_seen = set()
_busy = []  # non-empty while the hook itself runs (its own opens must not count)
_fd = -1


def _write(kind: str, text: str) -> None:
    key = (kind, text)
    if key in _seen:
        return
    _seen.add(key)
    line = f"{kind} {text.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}\n"
    try:
        os.write(_fd, line.encode("utf-8", "surrogateescape"))
    except OSError:  # the recording must never break the code under test
        _seen.discard(key)


def _path(value) -> str:
    """``value`` as an absolute path worth recording, else "" (most paths a process opens
    are in its environment: that case is decided first, and fast)."""
    if isinstance(value, str) and value.startswith(_SKIP):
        return ""
    if isinstance(value, int) or not value:
        return ""
    try:
        path = os.path.abspath(os.fsdecode(value))
    except (TypeError, ValueError, OSError):
        return ""
    if path.startswith(_SKIP) or path in _SKIP_EXACT or path.endswith((".pyc", ".pyo")):
        return ""
    return "" if "__pycache__" in path else path


def _on_open(args) -> None:
    path, mode, flags = (tuple(args) + (None, None, 0))[:3]
    if isinstance(mode, str):
        reading = "r" in mode or "+" in mode
    else:
        reading = (flags or 0) & 3 != os.O_WRONLY
    if reading and (found := _path(path)):
        _write("r", found)


def _on_listing(args) -> None:
    found = _path(args[0] if args and args[0] is not None else ".")
    if not found:
        return
    caller = sys._getframe(2)  # hook <- this handler's caller (the hook) <- who listed
    name = caller.f_code.co_filename if caller is not None else ""
    kind = "i" if "importlib" in name or name == NOTICES else "c" if "_pytest" in name else "l"
    _write(kind, found)


def _python_program(program: str, env) -> bool:
    """Whether ``program`` runs this virtualenv's Python (so the recording carries over)."""
    if env is not None and env.get("COMPAT_INPUTS") != FOLDER:
        return False
    if os.sep not in program:
        for folder in (env or os.environ).get("PATH", "").split(os.pathsep):
            candidate = os.path.join(folder, program)
            if os.access(candidate, os.X_OK):
                program = candidate
                break
    program = os.path.abspath(program)
    if program == os.path.abspath(sys.executable):
        return True
    if not program.startswith(os.path.join(sys.prefix, "")):
        return False
    if os.path.basename(program).startswith("python"):
        return True
    try:
        with open(program, "rb") as handle:
            first = handle.readline(256)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def _on_spawn(program, env) -> None:
    try:
        name = os.fsdecode(program)
    except (TypeError, ValueError):
        name = str(program)
    if not _python_program(name, env):
        _write("x", f"started {os.path.basename(name) or name!r}, which it cannot follow")


def _on_popen(args) -> None:
    executable, command, _cwd, env = (tuple(args) + (None,) * 4)[:4]
    if isinstance(command, (str, bytes)):
        command = [command]
    program = executable or (command[0] if command else "")
    _on_spawn(program, env)


def _on_connect(args) -> None:
    address = args[1] if len(args) > 1 else None
    if not isinstance(address, tuple) or len(address) < 2:
        return  # a Unix socket
    host, port = str(address[0]), address[1]
    if host == "localhost" or host.startswith("127.") or host in ("::1", "0.0.0.0", "::"):
        return
    _write("n", f"{host} {port}")


_HANDLERS = {
    "open": _on_open,
    "os.listdir": _on_listing,
    "os.scandir": _on_listing,
    "subprocess.Popen": _on_popen,
    "os.exec": lambda args: _on_spawn(args[0], args[2] if len(args) > 2 else None),
    "os.posix_spawn": lambda args: _on_spawn(args[0], args[2] if len(args) > 2 else None),
    "os.system": lambda args: _write("x", "ran a shell command (os.system)"),
    "socket.connect": _on_connect,
    "sqlite3.connect": lambda args: _on_open((args[0], "r", 0)) if args else None,
}


def _hook(event: str, args: tuple) -> None:
    handler = _HANDLERS.get(event)
    if handler is None or _busy:
        return
    _busy.append(1)
    try:
        handler(args)
    except Exception:  # the recording must never break the code under test
        pass
    finally:
        _busy.pop()


def _modules() -> None:
    """The files of every module still imported (extension modules included)."""
    _busy.append(1)
    try:
        for module in list(sys.modules.values()):
            found = _path(getattr(module, "__file__", None) or "")
            if found:
                _write("r", found)
    finally:
        _busy.pop()


def _start() -> None:
    global _fd
    if not FOLDER or _fd >= 0:
        return
    try:
        _fd = os.open(
            os.path.join(FOLDER, f"{os.getpid()}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND
        )
    except OSError:
        return
    atexit.register(_modules)
    sys.addaudithook(_hook)


_start()
