"""A real Doccano 1.8.4 server for the whole test session (installed once into .spanbank/doccano), and a
logged-in admin client of it per test."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DoccanoServer:
    """The running test server: its state folder, URL and admin login."""

    state: Path
    username: str
    password_file: Path

    @property
    def url(self) -> str:
        """Read each time: a restarted server may have had to move to another port."""
        from spanbank.doccano.server import local_info

        return local_info(self.state).url

    def client(self, **options):
        """A logged-in admin client that checks the local worker's process while it waits (as `connect` gives)."""
        from spanbank.doccano.client import DoccanoClient
        from spanbank.doccano.server import LocalWorker, read_secret

        options.setdefault("worker", LocalWorker(self.state))
        return DoccanoClient.login(self.url, self.username, read_secret(self.state)["password"], **options)


@pytest.fixture(scope="session")
def doccano_server(tmp_path_factory):
    from spanbank.doccano import server

    os.environ.setdefault("SPANBANK_DOCCANO_TOOLS", str(ROOT / ".spanbank" / "doccano"))
    base = tmp_path_factory.mktemp("spanbank-state")
    state = base / "doccano"
    info = server.ensure_up(state)
    try:
        yield DoccanoServer(state, info.username, info.password_file)
    finally:
        server.stop(state)


@pytest.fixture
def client(doccano_server):
    with doccano_server.client() as c:
        yield c
