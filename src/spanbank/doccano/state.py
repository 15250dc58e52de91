"""The Doccano state folder and its private files (folders 0700, files 0600: the database holds API tokens).

``state_dir``: ``$SPANBANK_STATE/doccano`` or ``.spanbank/doccano``; ``tools_dir``: where the server
software lives.  ``secret.json`` holds the admin login, ``server.json`` the port and URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import IO

from ..errors import SyncError

ADMIN = "admin"


def state_dir() -> Path:
    """The Doccano state folder: ``$SPANBANK_STATE/doccano`` or ``.spanbank/doccano`` in the working folder."""
    return Path(os.environ.get("SPANBANK_STATE", ".spanbank")).resolve() / "doccano"


def tools_dir(state: Path) -> Path:
    """Where the server software lives: ``$SPANBANK_DOCCANO_TOOLS`` (to share one install), else the state folder."""
    return Path(os.environ.get("SPANBANK_DOCCANO_TOOLS") or state).resolve()


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


def new_secret(state: Path) -> dict:
    secret = {"username": ADMIN, "password": secrets.token_urlsafe(18), "secret_key": secrets.token_urlsafe(40)}
    write_private(state / "secret.json", secret)
    return secret


def server_json(state: Path) -> dict:
    path = state / "server.json"
    return json.loads(path.read_text()) if path.exists() else {}
