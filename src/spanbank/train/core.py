"""``train``: learn pre-annotators from the corpus's human sets, gate them on held-out gold, write the folder.

1. :func:`.data.collect` reads the human targets and holds out the dev part (never a test-split document);
2. :func:`.fit.fit` trains the components with spaCy (seeded, CPU);
3. the pipeline is written into a temporary folder beside ``out`` with its metadata;
4. **the gate**: the dev documents, stripped of every set, are pre-annotated twice with
   ``spanbank.annotate`` — with the current pre-annotators (the registry defaults on the base model)
   and with the trained folder — and both are scored against the dev human sets with
   ``spanbank.evaluate``.  The trained one passes when, for every trained layer, its exact F1 on the
   layer's headline level (:data:`HEADLINE`) is higher;
5. passed (or ``force``): the temporary folder is renamed to ``out``; otherwise it is removed and
   nothing is written.  A failure or interruption removes it too (a ``kill -9`` leaves at most a
   hidden ``.<out>.*.tmp`` folder beside ``out``, never a half-written ``out``).

The corpus is only read: human sets are never modified.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import __version__
from ..errors import TrainError
from ..model import GOLD, LAYERS, Document, LabelSchema, utc_now
from ..store import Corpus, sha256_file
from .data import DEV_RATIO, Sample, TrainingData, collect

DOC_PASSES = 240  # default training length: about this many document updates, 3 to 12 epochs


def auto_epochs(n_docs: int) -> int:
    """12 epochs for a few dozen documents, fewer for more (3 at 80 and above): minutes, not hours."""
    return max(3, min(12, round(DOC_PASSES / max(n_docs, 1))))


HEADLINE = {"entities": "span", "events": "trigger_classification", "attribution": "relation"}
Progress = Callable[[str, int, int], None]


@dataclass
class TrainResult:
    out: Path
    written: bool
    better: bool
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "written": self.written, "better": self.better, **self.meta}


def train(corpus: Corpus, layers: Sequence[str], out: str | Path, *, schema: LabelSchema, base: str | None = None,
          seed: int = 0, force: bool = False, partial_gold: bool = False, epochs: int | None = None,
          dev_ratio: float = DEV_RATIO, progress: Progress | None = None,
          current: str | Path | None = None) -> TrainResult:
    """Train, gate and (when better, or ``force``) write a trained pre-annotator folder at ``out``.

    ``schema``: the label schema the caller resolved (the CLI's ``--schema``); the stage loads none.
    ``current``: the trained pre-annotator folder in use, which the new one must beat (default: the
    registry's rule-based pre-annotators on the base model).
    """
    from .. import nlp
    from .fit import Settings

    layers = tuple(lay for lay in LAYERS if lay in layers)
    out = Path(out)
    if out.exists() and not force:
        raise TrainError("output folder already exists", path=str(out), hint="pick another --out, or pass --force to replace it")
    data = collect(corpus.documents(), layers, schema, dev_ratio)
    missing = [lay for lay in layers if not data.size("train", lay)]
    if missing:
        raise TrainError(f"no training document has human annotation of {', '.join(missing)}", value=missing,
                         hint=f"drop it from --layers, or annotate it ({data.as_dict(layers)['human_sets']})")
    epochs = epochs or auto_epochs(max(data.size("train", lay) for lay in layers))
    settings = Settings(base=base or nlp.DEFAULT_MODEL, seed=seed, epochs=epochs, partial_gold=partial_gold)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        meta = _train_into(tmp, corpus, data, layers, schema, settings, progress, current)
        better = all(meta["gate"][lay]["better"] for lay in layers)
        if better or force:
            _replace(tmp, out)
        return TrainResult(out, better or force, better, meta)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _train_into(tmp: Path, corpus: Corpus, data: TrainingData, layers: Sequence[str], schema: LabelSchema,
                settings: Any, progress: Progress | None, current: str | Path | None = None) -> dict[str, Any]:
    from ..annotate.trained import META_FILE

    meta = build_folder(tmp, corpus, data, layers, schema, settings, progress)
    if progress:
        progress("scoring on dev", 0, 2)
    meta["gate"] = gate(data.dev, layers, tmp, settings.base, schema, data.train, current)
    meta["gate_against"] = str(current) if current else "rule-based registry defaults"
    if progress:
        progress("scoring on dev", 2, 2)
    _write_meta(tmp / META_FILE, meta)
    return meta


def build_folder(folder: Path, corpus: Corpus | None, data: TrainingData, layers: Sequence[str], schema: LabelSchema,
                 settings: Any, progress: Progress | None = None) -> dict[str, Any]:
    """Train on ``data.train`` and write the pipeline and its metadata into ``folder`` (no gate: the
    caller decides; :func:`train` gates, the learning-curve benchmark scores on its own split)."""
    from ..annotate.trained import META_FILE, PIPELINE_DIR, content_hash
    from . import fit

    nlp_, report = fit.fit(data.train, layers, schema, settings, progress)
    folder.mkdir(parents=True, exist_ok=True)
    fit.save(nlp_, folder / PIPELINE_DIR, "spanbank_trained")
    digest = content_hash(folder / PIPELINE_DIR)
    meta = {
        "format": 1, "content_hash": digest, "layers": list(layers),
        "agents": {lay: f"spanbank.trained.{lay}@{digest[:12]}" for lay in layers},
        "base": fit.base_info(settings.base), "spacy_version": fit.spacy_version(), "spanbank_version": __version__,
        "corpus": _corpus_info(corpus) if corpus is not None else None, "schema": {"name": schema.name, "version": schema.version, "sha256": schema.sha256},
        "training": {**data.as_dict(layers), "examples": report.examples, "misaligned_targets": report.misaligned,
                     "rehearsal_entities": report.rehearsal, "new_labels": report.new_labels, "losses": report.losses},
        "seed": settings.seed, "settings": dataclasses.asdict(settings), "config": f"{PIPELINE_DIR}/config.cfg",
        "trained_at": utc_now(),
    }
    _write_meta(folder / META_FILE, meta)
    return meta


def unannotated_labels(samples: Sequence[Sample], layers: Sequence[str], schema: LabelSchema) -> dict[str, None]:
    """A label map dropping the span labels no human marked in any training or dev document: the gold
    says nothing about them (a corpus whose annotators never mark TIME cannot score TIME predictions)."""
    seen = {label for s in samples for layer in layers for _, _, label in s.targets.get(layer, ())}
    seen |= {"CONTENT"} if "attribution" in layers else set()
    return {label: None for layer in layers for label in schema.span_labels(layer) if label not in seen}


def gate(dev: Sequence[Sample], layers: Sequence[str], folder: Path, base: str, schema: LabelSchema,
         train: Sequence[Sample] = (), current_folder: str | Path | None = None) -> dict[str, Any]:
    """Per layer: dev scores (exact and overlap P/R/F1 of every level) of the current and the trained
    pre-annotators, and whether the trained one is better on the headline level's exact F1.  Labels no
    human marked anywhere in ``train`` + ``dev`` are left out of both scores (:func:`unannotated_labels`)."""
    from ..annotate import annotate
    from ..evaluate import evaluate

    silent = unannotated_labels(list(train) + list(dev), layers, schema)
    stripped = [s.doc.without_sets() for s in sorted(dev, key=lambda s: s.id)]
    current = list(annotate(stripped, LAYERS, model=base, now="1970-01-01T00:00:00Z", schema=schema) if current_folder is None else
                   annotate(stripped, LAYERS, pre_annotator=str(current_folder), now="1970-01-01T00:00:00Z", schema=schema))
    trained = list(annotate(stripped, LAYERS, pre_annotator=str(folder), now="1970-01-01T00:00:00Z", schema=schema))
    out: dict[str, Any] = {}
    for layer in layers:
        gold = [_as_gold(s, layer) for s in sorted(dev, key=lambda s: s.id) if layer in s.targets]
        if not gold:
            out[layer] = {"documents": 0, "better": False, "reason": "no dev document has human annotation of this layer"}
            continue
        scores = {name: evaluate(gold, preds, [layer], label_map=silent)["layers"].get(layer, {}) for name, preds in
                  (("current", current), ("trained", trained))}
        head = {name: (s.get("levels", {}).get(HEADLINE[layer], {}).get("exact", {}).get("ALL", {}).get("f1", 0.0))
                for name, s in scores.items()}
        out[layer] = {"documents": len(gold), "headline": f"{HEADLINE[layer]} exact F1", "current_f1": head["current"],
                      "unscored_labels": sorted(k for k in silent if k in schema.span_labels(layer)),
                      "trained_f1": head["trained"], "better": head["trained"] > head["current"],
                      "current": scores["current"].get("levels"), "trained": scores["trained"].get("levels")}
    return out


def _as_gold(sample: Sample, layer: str) -> Document:
    """The dev document with the human set its ``layer`` targets came from, renamed ``gold`` (in memory only)."""
    aset = sample.doc.annotations[sample.sources[layer]]
    return sample.doc.without_sets().with_set(dataclasses.replace(aset, name=GOLD))


def _corpus_info(corpus: Corpus) -> dict[str, Any]:
    manifest = corpus.read_manifest() or {}
    files = {p.name: sha256_file(p) for p in (corpus.documents_path, corpus.annotations_path) if p.exists()}
    return {"path": str(corpus.path), "name": manifest.get("name"), "version": manifest.get("version"), "files": files}


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def _replace(tmp: Path, out: Path) -> None:
    """Rename the finished folder into place (an existing ``out`` is moved aside first, then removed)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
