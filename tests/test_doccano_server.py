"""The local server (doccano/server.py, doccano/state.py): private state files, explicit ports.

Against a real Doccano 1.8.4 server (``doccano_server``, started once per test session)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psutil
from click.testing import CliRunner

from spanbank.cli import main
from spanbank.doccano import server


def test_state_files_are_private_and_up_tightens_them(doccano_server):
    state = doccano_server.state

    def wrong_modes() -> dict[str, str]:
        out = {}
        for root, dirs, files in os.walk(state):
            dirs[:] = [d for d in dirs if Path(root, d) not in (state / "tools", state / "bin")]
            for name in dirs + files:
                path = Path(root, name)
                want = 0o700 if path.is_dir() else 0o600
                if path.stat().st_mode & 0o777 != want:
                    out[str(path.relative_to(state))] = oct(path.stat().st_mode & 0o777)
        return out

    names = {str(p.relative_to(state)) for p in state.rglob("*")}
    assert {"home", "home/db.sqlite3", "secret.json", "server.json", "web.pid", "worker.pid", "logs",
            "logs/web.log", "logs/worker.log"} <= names
    assert (state.stat().st_mode & 0o777, wrong_modes()) == (0o700, {})
    (state / "home" / "db.sqlite3").chmod(0o644)
    (state / "home").chmod(0o755)
    (state / "logs" / "web.log").chmod(0o644)
    state.chmod(0o755)
    server.ensure_up(state)
    assert (state.stat().st_mode & 0o777, wrong_modes()) == (0o700, {})


def time_wait_on(port: int) -> None:
    """Leave a TIME-WAIT socket on local port ``port`` (the side that closes first keeps it), as a killed server does."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with socket.create_connection(("127.0.0.1", port)) as peer:
            conn, _ = listener.accept()
            conn.close()
            peer.recv(1)
    assert any(c.status == psutil.CONN_TIME_WAIT and c.laddr.port == port for c in psutil.net_connections("tcp"))


def test_cli_up_explicit_port_is_used_despite_time_wait_or_refused(doccano_server, monkeypatch):
    monkeypatch.setenv("SPANBANK_STATE", str(doccano_server.state.parent))
    monkeypatch.setattr(server, "PORT_WAIT", 1.0)
    runner = CliRunner()
    port = int(doccano_server.url.rsplit(":", 1)[1])
    other = runner.invoke(main, ["doccano", "up", "--port", str(port + 1)])
    assert other.exit_code == 1 and f"the local Doccano server already runs on port {port}, not {port + 1}" in other.output
    server.stop(doccano_server.state, ("web",))
    try:
        with socket.socket() as holder:  # a live listener: refused, never swapped
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            holder.bind(("127.0.0.1", port))
            holder.listen()
            refused = runner.invoke(main, ["doccano", "up", "--port", str(port)])
        assert refused.exit_code == 1
        assert f"port {port} on 127.0.0.1 is in use (by pid {os.getpid()}); waited 1 s for it" in refused.output
        time_wait_on(port)
        started = runner.invoke(main, ["doccano", "up", "--port", str(port)])
        assert started.exit_code == 0, started.output
        assert f"Doccano runs at http://127.0.0.1:{port} " in started.output
    finally:
        server.ensure_up(doccano_server.state)
    assert doccano_server.url == f"http://127.0.0.1:{port}"
