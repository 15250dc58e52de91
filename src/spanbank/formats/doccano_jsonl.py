"""Doccano JSONL export (``corpus.jsonl``): the rows ``spanbank doccano push`` uploads, UTF-16 offsets.

The row format is Doccano's and lives with the Doccano sync (:func:`spanbank.doccano.sync.payload`);
this module only writes it to a file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterable

import orjson

from ..model import GOLD, SILVER, Document

CANNOT_CARRY = ["provenance per span (Doccano keeps only the importing user)",
                "events and attributions as objects (sent as trigger->argument and cue->source/content relations)"]


def write(items: Iterable[tuple[Document, str]], out: Path) -> tuple[list[Path], list[str]]:
    """Each (document, set name) as one Doccano row (the set sent as gold, or silver when it is silver)."""
    from ..doccano import sync  # the row format (UTF-16 offsets) belongs to the Doccano sync

    path = out / "corpus.jsonl"
    with path.open("wb") as fh:
        for doc, set_name in items:
            aset = doc.annotation_set(set_name)
            only = doc.without_sets().with_set(replace(aset, name=GOLD if aset.name != SILVER else SILVER))
            fh.write(orjson.dumps(sync.payload(only)) + b"\n")
    return [path], []
