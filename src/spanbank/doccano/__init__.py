"""Doccano: one module per job.

- ``project``: the project of a schema (settings, label types, the schema's guidelines);
- ``push`` (with ``journal``: resumption after a kill; ``threads``): bulk import of the corpus;
- ``pull`` (REST reads, no writes) -> ``merge`` (pure merge of the pulled sets into the current
  documents, and ``merge.commit``: the write under the corpus lock); ``annotators``: rebuilding
  ``annotator/<name>`` sets from an example's labels;
- ``refresh``: ``push --refresh-silver``;
- ``server`` (with ``install`` and ``state``): the local server's lifecycle; ``client``: thin REST.

The row format and the UTF-16 offset conversion are the pure format module
:mod:`spanbank.formats.doccano`.

:func:`connect` picks the server: a remote one when ``DOCCANO_URL`` is set (with ``DOCCANO_TOKEN``, or
``DOCCANO_USERNAME`` + ``DOCCANO_PASSWORD``), else the local one started by ``spanbank doccano up``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SyncError
from . import server
from .client import DoccanoClient


def connect(state: Path | None = None, **client_options: object) -> DoccanoClient:
    """A logged-in client for the configured server (environment first, then the local server)."""
    url = os.environ.get("DOCCANO_URL")
    if url:
        token = os.environ.get("DOCCANO_TOKEN")
        if token:
            return DoccanoClient(url, token, **client_options)
        username, password = os.environ.get("DOCCANO_USERNAME"), os.environ.get("DOCCANO_PASSWORD")
        if not username or not password:
            raise SyncError(f"DOCCANO_URL is set ({url}) but no credentials are",
                            hint="set DOCCANO_TOKEN, or DOCCANO_USERNAME and DOCCANO_PASSWORD")
        return DoccanoClient.login(url, username, password, **client_options)
    state = (state or server.state_dir()).resolve()
    info = server.local_info(state)
    client_options.setdefault("worker", server.LocalWorker(state))
    return DoccanoClient.login(info.url, info.username, info.password(), **client_options)


__all__ = ["DoccanoClient", "connect", "server"]
