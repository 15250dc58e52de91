"""The published features, derived once from the label schema.

ClassLabel names follow the schema's append-only order, so a label id never changes meaning
between releases: entity types, event types, argument roles (first appearance over the event
types), attribution labels.  Tag sets are built as tables, conll2003 style: ``O`` then ``B-X``,
``I-X`` for every label X in schema order (:func:`spanbank.iob2.tag_names`, the one IOB2 encoder's names).
"""

from __future__ import annotations

from datasets import ClassLabel, Features, List, Value

from ..iob2 import tag_names
from ..model import LabelSchema

CONFIGS = ("documents", "ner", "events", "attribution")
DEFAULT_CONFIG = "documents"
# A view is a config served by another config's files: the card's ``columns`` selects its features from them.
# ``ner``'s columns are all in the ``events`` files, so the sentences' tokens and offsets are written (and
# uploaded) once instead of twice.
VIEWS = {"ner": "events"}
WRITTEN = tuple(c for c in CONFIGS if c not in VIEWS)
SPLITS = ("train", "validation", "test")

OFFSETS = {"start": Value("int32"), "end": Value("int32")}
PROVENANCE = {"agent": Value("string"), "kind": Value("string"), "time": Value("string"), "detail": Value("string")}


def files_of(config: str) -> str:
    """The config whose parquet files hold ``config``'s rows (itself, or the config it is a view of)."""
    return VIEWS.get(config, config)


def _span(label: ClassLabel | None = None) -> dict:
    """A span struct; nested spans (triggers, cues, ...) carry no label: their container says it."""
    struct = {"id": Value("string"), **OFFSETS, "text": Value("string")}
    if label is not None:
        struct["label"] = label
    return {**struct, "status": Value("string"), "provenance": PROVENANCE}


def dataset_features(schema: LabelSchema) -> dict[str, Features]:
    """The features of the four configs, in :data:`CONFIGS` order."""
    entity = ClassLabel(names=schema.entity_names())
    event = ClassLabel(names=schema.event_names())
    role = ClassLabel(names=schema.role_names())
    argument = {"role": role, "entity_id": Value("string"), **OFFSETS, "text": Value("string"),
                "status": Value("string"), "provenance": PROVENANCE}
    event_struct = {"id": Value("string"), "type": event, "trigger": _span(), "arguments": List(argument),
                    "status": Value("string"), "provenance": PROVENANCE}
    attribution = {"id": Value("string"), "cue": _span(), "source": _span(), "content": _span(),
                   "parent": Value("string"), "status": Value("string"), "provenance": PROVENANCE}
    sentence_base = {"id": Value("string"), "doc_id": Value("string"), "sentence": Value("int32"), **OFFSETS,
                     "tokens": List(Value("string")), "offsets": List(OFFSETS)}
    token_ref = {"start_token": Value("int32"), "end_token": Value("int32")}
    ner_tags = List(ClassLabel(names=tag_names(schema.entity_names())))
    return {
        "documents": Features({
            "id": Value("string"), "date": Value("string"), "title": Value("string"), "url": Value("string"),
            "source": Value("string"), "first_release": Value("string"), "text": Value("string"), "annotation_set": Value("string"),
            "entities": List(_span(entity)), "events": List(event_struct), "attributions": List(attribution),
            "sections": List(OFFSETS), "paragraphs": List(OFFSETS), "sentences": List(OFFSETS), "tokens": List(OFFSETS),
            "origin": {"path": Value("string"), "sha256": Value("string"), "normalization": List(Value("string"))},
        }),
        "ner": Features({**sentence_base, "ner_tags": ner_tags}),
        "events": Features({
            **sentence_base, "trigger_tags": List(ClassLabel(names=tag_names(schema.event_names()))),
            "ner_tags": ner_tags,
            "events": List({"id": Value("string"), "type": event,
                            "trigger": {**OFFSETS, "text": Value("string"), **token_ref},
                            "arguments": List({"role": role, "entity_id": Value("string"), "entity_type": entity,
                                               **OFFSETS, "text": Value("string"), **token_ref})}),
            "entities": List({"id": Value("string"), "type": entity, **OFFSETS, "text": Value("string"), **token_ref}),
        }),
        "attribution": Features({
            "id": Value("string"), "doc_id": Value("string"), "cue": _span(), "source": _span(), "content": _span(),
            "parent": Value("string"), "depth": Value("int32"), "status": Value("string"), "provenance": PROVENANCE,
            "context": Value("string"), "context_start": Value("int32"),
        }),
    }
