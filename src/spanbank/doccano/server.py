"""The local Doccano 1.8.4 server: initialise, run, stop, report (installing: ``install.py``; the state
folder's private files: ``state.py``).

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
import signal
import socket
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import httpx
import psutil

from ..errors import SyncError
from .install import DOCCANO_SPEC, backend_dir, ensure_installed, tool_python
from .state import (
    new_secret,
    open_private,
    private_dir,
    read_secret,
    server_json,
    state_dir,
    tighten,
    tools_dir,
    write_private,
)

DEFAULT_PORT = 8765
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


def _write_settings(state: Path) -> None:
    """Our settings module (see ``SETTINGS``), on the server processes' PYTHONPATH."""
    folder = private_dir(state / "django")
    with open_private(folder / f"{SETTINGS_MODULE}.py", "wb") as fh:
        fh.write(SETTINGS.encode())


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
        secret = new_secret(state)
        note("initialising the Doccano database (about 15 s)")
        _initialise(state, tools, secret)
        new_password = secret["password"]
    secret = read_secret(state)
    info = server_json(state)
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
    info = server_json(state)
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
    info = server_json(state)
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

