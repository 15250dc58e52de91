"""The local Doccano 1.8.4 server: install once (cached), initialise, run, stop, report.

Layout of the state folder (default ``.spanbank/doccano/``; ``$SPANBANK_STATE/doccano`` when set)::

    tools/doccano/      the isolated uv tool environment (doccano==1.8.4 plus the 3 pins it needs)
    bin/doccano         its entry point
    home/               DOCCANO_HOME: db.sqlite3 and media/
    secret.json         0600: admin username, random password, Django SECRET_KEY
    server.json         port and URL
    web.pid, worker.pid the processes we started: pid and start time (so `down` never kills another)
    logs/web.log, logs/worker.log

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
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


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


def _server_json(state: Path) -> dict:
    path = state / "server.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pick_port(preferred: int | None) -> int:
    """The preferred port (waiting a little for a killed server's workers to let go of it), else another."""
    deadline = time.monotonic() + 15.0
    while preferred and not _port_free(preferred) and time.monotonic() < deadline:
        time.sleep(0.5)
    for port in ([preferred] if preferred else []) + [DEFAULT_PORT, 0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise SyncError("no free local port for Doccano")


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


def _child_env(state: Path, tools: Path, secret: dict) -> dict[str, str]:
    home = state / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DOCCANO_", "SPANBANK_", "DJANGO_", "CELERY_", "DATABASE_", "VIRTUAL_ENV", "PYTHON"))}
    env.update({
        "DOCCANO_HOME": str(home), "STANDALONE": "True", "DEBUG": "False",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": f"sqlite:///{home}/db.sqlite3", "MEDIA_ROOT": str(home / "media"),
        "SECRET_KEY": secret["secret_key"], "PATH": f"{tools / 'tools' / 'doccano' / 'bin'}:{env.get('PATH', '')}",
    })
    return env


def _spawn(state: Path, component: str, cmd: list[str], env: dict[str, str], cwd: Path) -> int:
    logs = state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{component}.log").open("ab") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    record = {"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time(), "cmd": cmd[:3]}
    _pid_file(state, component).write_text(json.dumps(record))
    return proc.pid


def _initialise(state: Path, tools: Path, secret: dict) -> None:
    env = {**_child_env(state, tools, secret), "SPANBANK_ADMIN_USER": secret["username"],
           "SPANBANK_ADMIN_PASSWORD": secret["password"]}
    (state / "home").mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(tool_python(tools)), "-c", SETUP_SCRIPT], env=env, cwd=backend_dir(tools),
                          capture_output=True, text=True, timeout=300)
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
    """Install (once), initialise (once) and start whatever of web + worker is not running.  Idempotent."""
    state = (state or state_dir()).resolve()
    tools = (tools or tools_dir(state)).resolve()
    note = progress or (lambda message: None)
    state.mkdir(parents=True, exist_ok=True)
    if ensure_installed(tools):
        note(f"installed {DOCCANO_SPEC} into {tools}")
    new_password = None
    if not (state / "secret.json").exists() or not (state / "home" / "db.sqlite3").exists():
        secret = _new_secret(state)
        note("initialising the Doccano database (about 15 s)")
        _initialise(state, tools, secret)
        new_password = secret["password"]
    secret = read_secret(state)
    info = _server_json(state)
    env = _child_env(state, tools, secret)
    if running_pid(state, "web") is None:
        info["port"] = _pick_port(port or info.get("port"))
        info["url"] = f"http://127.0.0.1:{info['port']}"
        (state / "server.json").write_text(json.dumps(info))
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

