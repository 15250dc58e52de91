"""The card's Data fields section, generated from the features: every field with its type and meaning.

Meanings are a table keyed by field path (``entities[].label``); a path missing from the table is
looked up by its last name, so a new field gets a meaning once and the section never lists a field
without one (a test checks it).
"""

from __future__ import annotations

from typing import Any, Iterator

from datasets import ClassLabel, Features, List, Value

SPAN = "a span: document offsets `[start, end)`, its `text`"
MEANINGS: dict[str, str] = {
    # shared leaves
    "id": "identifier, unique within its document",
    "documents.id": "document id (`doc-` + the first 16 hex digits of the text's sha256)",
    "ner.id": "sentence id, `<doc_id>:<sentence>`",
    "events.id": "sentence id, `<doc_id>:<sentence>`",
    "doc_id": "the document the row comes from (`documents.id`)",
    "start": "start offset (code points, inclusive)",
    "end": "end offset (code points, exclusive)",
    "text": "the text of the span (`document_text[start:end]`)",
    "status": "`gold` (human-confirmed) or `silver` (machine pre-annotation)",
    "provenance": "who made the annotation",
    "provenance.agent": "annotator name or pre-annotator registry name (e.g. `spanbank.entities.v1`)",
    "provenance.kind": "`human`, `machine` or `import`",
    "provenance.time": "when it was made (ISO 8601, UTC; empty when unknown)",
    "provenance.detail": "free-form detail (e.g. the imported file and line)",
    "start_token": "first token of the span within the sentence's `tokens` (null: not inside the sentence)",
    "end_token": "token index after the span's last token (exclusive)",
    "label": "entity type (ClassLabel)",
    "trigger": "the trigger span of the event",
    "role": "argument role (ClassLabel)",
    "entity_id": "id of the span filling the role",
    "entity_type": "entity type of the filling mention (ClassLabel; null for a value role filled by a non-entity span)",
    "parent": "id of the attribution this one is nested in (null at top level)",
    "cue": "the reporting cue span (e.g. \"said\")",
    "source": "the source span (who is reported; null when implicit)",
    "content": "the attributed content span",
    # documents
    "date": "publication date, YYYY-MM-DD (null when unknown)",
    "title": "headline (null when unknown)",
    "url": "source URL (null when unknown)",
    "documents.source": "publisher / feed name (null when unknown)",
    "first_release": "the corpus version that first published the document (null: not released yet)",
    "documents.text": "the document text (NFC, LF line ends); every offset indexes it",
    "annotation_set": "the published annotation set: `gold` where the document has one, else `silver` (null: none)",
    "entities": "entity mentions",
    "events": "events: type, trigger span and arguments",
    "events[].type": "event type (ClassLabel)",
    "events[].arguments": "the event's arguments: role and the span filling it",
    "attributions": "attributions (PARC style): cue, source, content, nesting",
    "sections": "section boundaries (offsets)",
    "paragraphs": "paragraph boundaries (offsets)",
    "sentences": "sentence boundaries (offsets)",
    "tokens": "token boundaries (offsets)",
    "origin": "where the text came from",
    "origin.path": "the ingested file, relative to the project (file name only for a file outside it)",
    "origin.sha256": "sha256 of the original file's bytes",
    "origin.normalization": "normalization steps applied at ingest (e.g. `nfc`, `crlf`)",
    # sentence configs
    "sentence": "index of the sentence within its document",
    "ner.tokens": "the sentence's tokens (strings)",
    "events.tokens": "the sentence's tokens (strings)",
    "offsets": "document offsets `[start, end)` of each token",
    "ner_tags": "IOB2 entity tag per token (ClassLabel; `O`, `B-X`, `I-X`)",
    "trigger_tags": "IOB2 event-trigger tag per token (ClassLabel)",
    "events.events": "events whose trigger starts in this sentence",
    "events.entities": "entity mentions starting in this sentence: id, type, offsets, token indices (ACE/OneIE style)",
    "events.entities[].type": "entity type (ClassLabel, the same ids as `documents` `entities.label`)",
    "events.events[].arguments": "arguments with their role, the filler's entity type, offsets and token indices",
    # attribution
    "depth": "how many attributions this one is nested in (0 = top level)",
    "context": "the sentences around the attribution's spans",
    "context_start": "document offset where `context` starts",
}
ROW = {"documents": "document", "ner": "sentence", "events": "sentence", "attribution": "attribution"}


def type_name(feature: Any) -> str:
    """A short type description: ``string``, ``int32``, ``ClassLabel (8)``, ``list of struct``, ``struct``."""
    if isinstance(feature, ClassLabel):
        return f"ClassLabel ({feature.num_classes} names)"
    if isinstance(feature, Value):
        return feature.dtype
    if isinstance(feature, List):
        return f"list of {type_name(feature.feature)}"
    if isinstance(feature, dict):
        return "struct"
    return type(feature).__name__


def meaning(config: str, path: str) -> str:
    """The meaning of field ``path`` (``a[].b.c``) of ``config``: the most specific table entry."""
    bare = path.replace("[]", "")
    parts = bare.split(".")
    for candidate in (f"{config}.{path}", f"{config}.{bare}", path, bare,
                      *(".".join(parts[i:]) for i in range(1, len(parts)))):
        if MEANINGS.get(candidate):
            return MEANINGS[candidate]
    return ""


def walk(features: dict[str, Any], prefix: str = "", seen: dict | None = None) -> Iterator[tuple[str, Any, str]]:
    """(path, feature, same-as path) of every field, depth first; list items are written ``name[]``.

    A struct with the same name and fields as one already listed is not expanded again: its third
    item names the first one.
    """
    seen = {} if seen is None else seen
    for name, feature in features.items():
        path = f"{prefix}{name}"
        inner, suffix = feature, ""
        while isinstance(inner, List):
            inner, suffix = inner.feature, suffix + "[]"
        key = (name, repr(inner)) if isinstance(inner, dict) else None
        if key is not None and key in seen:
            yield path, feature, seen[key]
            continue
        yield path, feature, ""
        if key is not None:
            seen[key] = path
            yield from walk(inner, f"{path}{suffix}.", seen)


def data_fields(features: dict[str, Features], configs: list[str]) -> Iterator[str]:
    """Markdown tables, one per config: field, type, meaning."""
    yield ("Every field of every config, generated from the features (ClassLabel names are listed under "
           "Labels). `a[].b` is field `b` of each item of list `a`.")
    yield ""
    for config in configs:
        yield f"### `{config}` (one row per {ROW[config]})"
        yield ""
        yield "| field | type | meaning |"
        yield "|---|---|---|"
        for path, feature, same in walk(features[config]):
            text = meaning(config, path).replace("|", "\\|") + (f" (fields as in `{same}`)" if same else "")
            yield f"| `{path}` | {type_name(feature)} | {text} |"
        yield ""
