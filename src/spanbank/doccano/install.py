"""Installing the Doccano 1.8.4 server once into its own uv tool environment (cached; shared with
``$SPANBANK_DOCCANO_TOOLS``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..errors import SyncError

DOCCANO_SPEC = "doccano==1.8.4"
PINS = ("marshmallow<4", "setuptools<81", "numpy<2")


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
