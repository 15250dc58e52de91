"""The local Doccano 1.8.4 server: install once (cached), initialise, run, stop, report.

Layout of the state folder (default ``.spanbank/doccano/``; ``$SPANBANK_STATE/doccano`` when set)::

    tools/doccano/      the isolated uv tool environment (doccano==1.8.4 plus the 3 pins it needs)
    bin/doccano         its entry point
    home/               DOCCANO_HOME: db.sqlite3 and media/
    secret.json         admin username, random password, Django SECRET_KEY
    server.json         port and URL
    web.pid, worker.pid the processes we started: pid and start time (so `down` never kills another)
    logs/web.log, logs/worker.log
    push-<key>.jsonl    push journals; push-<key>.lock: one push per project at a time

Everything in the state folder is private: folders 0700, files 0600 (the database holds API tokens in
plain text).  The server processes run with umask 077, our own files are created 0600, and ``up``
tightens whatever an older version left wider.

The web app (``config.wsgi``) runs under gunicorn bound to 127.0.0.1 with 2 workers (``doccano
webserver`` would bind 0.0.0.0); imports and exports need the ``doccano task`` celery worker (one
child).  The admin password reaches the child that sets it through its environment, never argv.
Liveness is an unauthenticated ``GET /v1/projects`` answering 403 (``/v1/health/`` writes rows on
every call and fails while the worker is down).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable

import httpx
import psutil

from ..errors import SyncError

DOCCANO_SPEC = "doccano==1.8.4"
PINS = ("marshmallow<4", "setuptools<81", "numpy<2")
DEFAULT_PORT = 8765
ADMIN = "admin"
WEB_WORKERS = 2
START_TIMEOUT = 90.0
COMPONENTS = ("web", "worker")
UMASK = 0o077
PORT_WAIT = 15.0  # seconds an explicit port may stay busy (a killed server's workers letting go) before refusing

SETTINGS_MODULE = "spanbank_doccano_settings"
SETTINGS = """# Written by spanbank on every `doccano up`: Doccano's production settings, kept private.
import os
from config.settings.production import *  # noqa: F401,F403

FILE_UPLOAD_PERMISSIONS = 0o600  # Django's default 0o644 would chmod every upload and export wider
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DJANGO_DRF_FILEPOND_UPLOAD_TMP = os.path.join(os.environ["DOCCANO_HOME"], "filepond-temp-uploads")  # not site-packages
DJANGO_DRF_FILEPOND_ALLOW_EXTERNAL_UPLOAD_DIR = True  # (it is outside the backend folder)
"""

SETUP_SCRIPT = """
import os, sys
sys.path.insert(0, os.getcwd())
import django
django.setup()
from django.core import management
management.call_command("migrate", verbosity=0)
management.call_command("create_roles")
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username=os.environ["SPANBANK_ADMIN_USER"])
user.is_staff = user.is_superuser = True
user.set_password(os.environ["SPANBANK_ADMIN_PASSWORD"])
user.save()
"""


@dataclass(frozen=True)
class ServerInfo:
    """Where the local server answers and how to log in.  ``new_password`` is set only on first creation."""

    url: str
    username: str
    password_file: Path
    new_password: str | None = None

    def password(self) -> str:
        return read_secret(self.password_file.parent)["password"]


def state_dir() -> Path:
    """The Doccano state folder: ``$SPANBANK_STATE/doccano`` or ``.spanbank/doccano`` in the working folder."""
    return Path(os.environ.get("SPANBANK_STATE", ".spanbank")).resolve() / "doccano"


def tools_dir(state: Path) -> Path:
    """Where the server software lives: ``$SPANBANK_DOCCANO_TOOLS`` (to share one install), else the state folder."""
    return Path(os.environ.get("SPANBANK_DOCCANO_TOOLS") or state).resolve()


# --- install ------------------------------------------------------------------------------------


def tool_python(tools: Path) -> Path:
    return tools / "tools" / "doccano" / "bin" / "python"


def backend_dir(tools: Path) -> Path:
    found = sorted((tools / "tools" / "doccano" / "lib").glob("python3*/site-packages/backend"))
    if not found:
        raise SyncError("the Doccano install has no backend package", path=str(tools), hint="remove the folder and run `spanbank doccano up` again")
    return found[0]


def ensure_installed(tools: Path) -> bool:
    """Install doccano 1.8.4 into ``tools`` once; True when it installed now."""
    if tool_python(tools).exists() and (tools / "bin" / "doccano").exists():
        return False
    uv = shutil.which("uv")
    if uv is None:
        raise SyncError("`uv` is not on PATH; it installs the Doccano server", hint="install uv (https://docs.astral.sh/uv/)")
    tools.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "UV_TOOL_DIR": str(tools / "tools"), "UV_TOOL_BIN_DIR": str(tools / "bin")}
    cmd = [uv, "tool", "install", "--python", "3.11", DOCCANO_SPEC]
    for pin in PINS:
        cmd += ["--with", pin]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SyncError(f"installing {DOCCANO_SPEC} failed: {done.stderr.strip()[-800:]}", path=str(tools))
    return True


# --- secrets and state files --------------------------------------------------------------------


def write_private(path: Path, data: dict) -> None:
    """Write JSON readable by the owner only (0600 from creation, never wider)."""
    private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 folders; returns it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def open_private(path: Path, mode: str = "ab") -> IO:
    """Open a file of the state folder for writing, created 0600 (appending by default)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, 0o600), mode)


def tighten(state: Path) -> list[str]:
    """Make the state folder private (folders 0700, files 0600), leaving the server software alone.

    Returns the paths whose mode changed (state written by an older version, or by hand).
    """
    changed = []
    skip = {state / "tools", state / "bin"}  # the isolated install (executables) when it lives here

    def fix(path: Path, want: int) -> None:
        mode = path.lstat().st_mode
        if (mode & 0o777) != want:
            path.chmod(want)
            changed.append(str(path))

    if not state.exists():
        return changed
    fix(state, 0o700)
    for root, dirs, files in os.walk(state):
        here = Path(root)
        dirs[:] = [d for d in dirs if here / d not in skip and not (here / d).is_symlink()]
        for d in dirs:
            fix(here / d, 0o700)
        for f in files:
            if not (here / f).is_symlink():
                fix(here / f, 0o600)
    return changed


def read_secret(state: Path) -> dict:
    path = state / "secret.json"
    if not path.exists():
        raise SyncError("no local Doccano server has been set up here", path=str(path), hint="run `spanbank doccano up`")
    if path.stat().st_mode & 0o077:
        raise SyncError("the password file is readable by others", path=str(path), hint=f"chmod 600 {path}")
    return json.loads(path.read_text())


def _new_secret(state: Path) -> dict:
    secret = {"username": ADMIN, "password": secrets.token_urlsafe(18), "secret_key": secrets.token_urlsafe(40)}
    write_private(state / "secret.json", secret)
    return secret


def _write_settings(state: Path) -> None:
    """Our settings module (see ``SETTINGS``), on the server processes' PYTHONPATH."""
    folder = private_dir(state / "django")
    with open_private(folder / f"{SETTINGS_MODULE}.py", "wb") as fh:
        fh.write(SETTINGS.encode())


def _server_json(state: Path) -> dict:
    path = state / "server.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _bind(port: int) -> int | None:
    """The port bound on 127.0.0.1 (then released), or None when it is taken.

    Binds with SO_REUSEADDR like gunicorn does, so TIME-WAIT sockets of a killed server do not count as
    taken (they would not stop gunicorn), while a live listener does.
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return None
        return s.getsockname()[1]


def _pick_port(preferred: int | None, *, explicit: bool = False, wait: float | None = None) -> int:
    """The port to start on.

    An ``explicit`` port (``up --port``) is used, or refused with SyncError after waiting up to ``wait``
    seconds for it (a killed server's workers letting go); it is never swapped for another.  Otherwise
    the preferred (last used) port, then 8765, then any free one.
    """
    if explicit and preferred:
        wait = PORT_WAIT if wait is None else wait
        deadline = time.monotonic() + wait
        while _bind(preferred) is None:
            if time.monotonic() > deadline:
                holder = _listener_pid(preferred)
                raise SyncError(f"port {preferred} on 127.0.0.1 is in use"
                                + (f" (by pid {holder})" if holder else "") + f"; waited {wait:.0f} s for it",
                                value=preferred, hint="stop what listens there, or choose another port with "
                                                      "`spanbank doccano up --port N` (without --port a free one is picked)")
            time.sleep(0.5)
        return preferred
    for port in ([preferred] if preferred else []) + [DEFAULT_PORT, 0]:
        bound = _bind(port)
        if bound is not None:
            return bound
    raise SyncError("no free local port for Doccano")


def _listener_pid(port: int) -> int | None:
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return conn.pid
    return None


# --- processes ----------------------------------------------------------------------------------


def _pid_file(state: Path, component: str) -> Path:
    return state / f"{component}.pid"


def running_pid(state: Path, component: str) -> int | None:
    """The pid of our ``component`` process if it still runs (same pid AND same start time)."""
    path = _pid_file(state, component)
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    try:
        proc = psutil.Process(record["pid"])
        if abs(proc.create_time() - record["create_time"]) > 0.01 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except psutil.Error:
        return None
    return record["pid"]


@dataclass(frozen=True)
class LocalWorker:
    """Liveness of our local task worker, checked by the client while it waits for an import or export."""

    state: Path

    def dead(self) -> str | None:
        """Why the worker cannot run tasks (it is not running), or None while its process lives."""
        if running_pid(self.state, "worker") is not None:
            return None
        path = _pid_file(self.state, "worker")
        with contextlib.suppress(OSError, ValueError, KeyError):
            return f"the local Doccano task worker (pid {json.loads(path.read_text())['pid']}) is not running"
        return "the local Doccano task worker is not running"

    def queued(self) -> int | None:
        """Tasks waiting in the broker (a table of the SQLite database); None when it cannot be read."""
        db = self.state / "home" / "db.sqlite3"
        try:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2.0)) as con:
                return int(con.execute("SELECT count(*) FROM kombu_message WHERE visible = 1").fetchone()[0])
        except sqlite3.Error:
            return None

    def queued_task(self, task_id: str) -> bool:
        """Whether task ``task_id`` still waits in the broker, not yet taken by any worker."""
        db = self.state / "home" / "db.sqlite3"
        try:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2.0)) as con:
                row = con.execute("SELECT 1 FROM kombu_message WHERE visible = 1 AND payload LIKE ? LIMIT 1",
                                  (f"%{task_id}%",)).fetchone()
        except sqlite3.Error:
            return False
        return row is not None


def _child_env(state: Path, tools: Path, secret: dict) -> dict[str, str]:
    home = state / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DOCCANO_", "SPANBANK_", "DJANGO_", "CELERY_", "DATABASE_", "VIRTUAL_ENV", "PYTHON"))}
    env.update({
        "DOCCANO_HOME": str(home), "STANDALONE": "True", "DEBUG": "False",
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, "PYTHONPATH": str(state / "django"),
        "DATABASE_URL": f"sqlite:///{home}/db.sqlite3", "MEDIA_ROOT": str(home / "media"),
        "SECRET_KEY": secret["secret_key"], "PATH": f"{tools / 'tools' / 'doccano' / 'bin'}:{env.get('PATH', '')}",
    })
    return env


def _spawn(state: Path, component: str, cmd: list[str], env: dict[str, str], cwd: Path) -> int:
    logs = private_dir(state / "logs")
    with open_private(logs / f"{component}.log") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, umask=UMASK)
    record = {"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time(), "cmd": cmd[:3]}
    write_private(_pid_file(state, component), record)
    return proc.pid


def _initialise(state: Path, tools: Path, secret: dict) -> None:
    env = {**_child_env(state, tools, secret), "SPANBANK_ADMIN_USER": secret["username"],
           "SPANBANK_ADMIN_PASSWORD": secret["password"]}
    private_dir(state / "home")
    done = subprocess.run([str(tool_python(tools)), "-c", SETUP_SCRIPT], env=env, cwd=backend_dir(tools),
                          capture_output=True, text=True, timeout=300, umask=UMASK)
    if done.returncode != 0:
        raise SyncError(f"initialising the Doccano database failed: {done.stderr.strip()[-800:]}", path=str(state / "home"))


def answers(url: str, timeout: float = 3.0) -> bool:
    """True when the web app answers (unauthenticated GET /v1/projects -> 403)."""
    try:
        return httpx.get(f"{url}/v1/projects", timeout=timeout).status_code in (401, 403)
    except httpx.HTTPError:
        return False


def ensure_up(state: Path | None = None, tools: Path | None = None, *, port: int | None = None,
              progress: Callable[[str], None] | None = None) -> ServerInfo:
    """Install (once), initialise (once) and start whatever of web + worker is not running.  Idempotent.

    ``port`` is explicit: the web server starts there or SyncError says why not (never another port).
    Without it the last used port is preferred, then 8765, then any free one.  A web server that
    already runs keeps its port (an explicit different one is an error).
    """
    state = (state or state_dir()).resolve()
    tools = (tools or tools_dir(state)).resolve()
    note = progress or (lambda message: None)
    private_dir(state)
    widened = tighten(state)
    if widened:
        note(f"made {len(widened)} state file(s)/folder(s) private (0600/0700) under {state}")
    if ensure_installed(tools):
        note(f"installed {DOCCANO_SPEC} into {tools}")
    _write_settings(state)
    new_password = None
    if not (state / "secret.json").exists() or not (state / "home" / "db.sqlite3").exists():
        secret = _new_secret(state)
        note("initialising the Doccano database (about 15 s)")
        _initialise(state, tools, secret)
        new_password = secret["password"]
    secret = read_secret(state)
    info = _server_json(state)
    env = _child_env(state, tools, secret)
    if port is not None and running_pid(state, "web") is not None and port != info.get("port"):
        raise SyncError(f"the local Doccano server already runs on port {info.get('port')}, not {port}",
                        value=port, hint="stop it first (`spanbank doccano down`), then `spanbank doccano up --port "
                                         f"{port}`")
    if running_pid(state, "web") is None:
        info["port"] = _pick_port(port or info.get("port"), explicit=port is not None)
        info["url"] = f"http://127.0.0.1:{info['port']}"
        write_private(state / "server.json", info)
        _spawn(state, "web", [str(tool_python(tools)), "-m", "gunicorn", "--bind", f"127.0.0.1:{info['port']}",
                              "--workers", str(WEB_WORKERS), "--timeout", "300", "config.wsgi"], env, backend_dir(tools))
        note(f"started the Doccano web server on {info['url']}")
    if running_pid(state, "worker") is None:
        _spawn(state, "worker", [str(tools / "bin" / "doccano"), "task", "--concurrency", "1"], env, state)
        note("started the Doccano task worker")
    _wait_answering(state, info["url"])
    return ServerInfo(info["url"], secret["username"], state / "secret.json", new_password)


def _wait_answering(state: Path, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(url, timeout=2.0):
        if running_pid(state, "web") is None:
            raise SyncError("the Doccano web server exited during start-up", path=str(state / "logs" / "web.log"),
                            hint="read the log (`spanbank doccano logs web`)")
        if time.monotonic() > deadline:
            raise SyncError(f"Doccano did not answer at {url} within {START_TIMEOUT:.0f} s",
                            path=str(state / "logs" / "web.log"))
        time.sleep(0.5)


def stop(state: Path | None = None, components: tuple[str, ...] = COMPONENTS, timeout: float = 15.0) -> list[int]:
    """Stop our processes (by their recorded pid only); returns the pids stopped."""
    state = (state or state_dir()).resolve()
    stopped = []
    for component in components:
        pid = running_pid(state, component)
        if pid is None:
            continue
        proc = psutil.Process(pid)
        children = proc.children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs([proc], timeout=timeout)
        for p in alive:
            p.kill()
        _, orphans = psutil.wait_procs(children, timeout=5)
        for p in orphans:
            p.kill()
        _pid_file(state, component).unlink(missing_ok=True)
        stopped.append(pid)
    return stopped


def status(state: Path | None = None) -> dict:
    """What runs where: install, processes, URL, whether it answers."""
    state = (state or state_dir()).resolve()
    info = _server_json(state)
    url = info.get("url")
    return {
        "state": str(state),
        "installed": tool_python(tools_dir(state)).exists(),
        "initialised": (state / "home" / "db.sqlite3").exists(),
        "url": url,
        "web_pid": running_pid(state, "web"),
        "worker_pid": running_pid(state, "worker"),
        "answering": bool(url) and answers(url),
        "password_file": str(state / "secret.json") if (state / "secret.json").exists() else None,
    }


def local_info(state: Path | None = None) -> ServerInfo:
    """How to reach the running local server, or SyncError saying how to start it."""
    state = (state or state_dir()).resolve()
    info = _server_json(state)
    if not info.get("url") or running_pid(state, "web") is None:
        raise SyncError("no local Doccano server is running", path=str(state),
                        hint="start one with `spanbank doccano up`, or set DOCCANO_URL, DOCCANO_USERNAME and "
                             "DOCCANO_PASSWORD (or DOCCANO_TOKEN) for a remote server")
    return ServerInfo(info["url"], read_secret(state)["username"], state / "secret.json")


def log_tail(state: Path | None = None, component: str = "web", lines: int = 50) -> str:
    """The last ``lines`` lines of a component's log."""
    state = (state or state_dir()).resolve()
    path = state / "logs" / f"{component}.log"
    if not path.exists():
        raise SyncError(f"no {component} log yet", path=str(path), allowed=list(COMPONENTS))
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 200 * lines))
        return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])

