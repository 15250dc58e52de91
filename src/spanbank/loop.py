"""State of the correction loop (``spanbank run --loop``): what was learned from which human labels.

The loop is pull -> train -> annotate -> push --refresh-silver.  To be idempotent it must not retrain
on labels it has already learned from, so every training round is keyed by a hash of the corpus's
human annotation of the trained layers (:func:`human_key`; every set but ``silver``, provenance
included).  The models folder holds:

* ``round-<key12>/``: a trained pre-annotator the gate accepted (written by ``spanbank train``);
* ``round-<key12>.refused.json``: the gate refused a model trained on those labels (its dev scores);
  the same labels are not trained on again (training is deterministic: it would refuse again);
* ``current``: the name of the pre-annotator folder in use (absent: the rule-based pre-annotators).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .model import SILVER, Document
from .store import Corpus, atomic_writer

CURRENT = "current"


def _has_layer(doc: Document, name: str, layer: str) -> bool:
    aset = doc.annotations[name]
    return any(s.layer == layer for s in aset.spans) or (layer == "events" and bool(aset.events)) or \
        (layer == "attribution" and bool(aset.attributions))


def human_key(corpus: Corpus, layers: Sequence[str]) -> str | None:
    """A hash of every human set holding annotation of ``layers`` (None when there is none)."""
    digest, found = hashlib.sha256(json.dumps(sorted(layers)).encode()), False
    for doc in corpus.documents():
        for name in sorted(doc.annotations):
            if name != SILVER and any(_has_layer(doc, name, lay) for lay in layers):
                digest.update(repr((doc.id, name, doc.annotations[name])).encode("utf-8", "surrogatepass"))
                found = True
    return digest.hexdigest() if found else None


@dataclass
class Models:
    """The loop's models folder."""

    path: Path

    def round_dir(self, key: str) -> Path:
        return self.path / f"round-{key[:12]}"

    def refused_file(self, key: str) -> Path:
        return self.path / f"round-{key[:12]}.refused.json"

    def seen(self, key: str) -> str | None:
        """``accepted`` / ``refused`` when these labels were trained on before, else None."""
        if self.round_dir(key).is_dir():
            return "accepted"
        return "refused" if self.refused_file(key).exists() else None

    def record_refusal(self, key: str, gate: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with atomic_writer(self.refused_file(key)) as fh:
            fh.write(json.dumps({"key": key, "gate": gate}, indent=2, sort_keys=True, default=str).encode() + b"\n")

    def current(self) -> Path | None:
        """The pre-annotator folder in use, or None (the rule-based pre-annotators)."""
        marker = self.path / CURRENT
        if not marker.exists():
            return None
        folder = self.path / marker.read_text(encoding="utf-8").strip()
        return folder if folder.is_dir() else None

    def set_current(self, folder: Path) -> None:
        with atomic_writer(self.path / CURRENT) as fh:
            fh.write(folder.name.encode() + b"\n")
