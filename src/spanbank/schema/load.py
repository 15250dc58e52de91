"""Load the label schema: hash it and build the model.

:func:`load_schema` reads the file (:mod:`.source`), runs :func:`~spanbank.schema.check.check_schema` (every
problem with its YAML line) and builds the pure :class:`~spanbank.model.LabelSchema`; the hash is
taken over the parsed content, so comments, whitespace and key order do not change it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import Problem, SchemaError
from ..model import EventType, Label, LabelSchema, Role
from .check import check_schema
from .source import display, read_yaml, schema_path


# --- hashing -----------------------------------------------------------------------------------


def content_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def schema_hash(path: str | Path | None = None) -> str:
    """SHA-256 of the parsed schema content: comment, whitespace and key-order edits leave it unchanged."""
    return content_hash(read_yaml(schema_path(path)))


# --- loading -----------------------------------------------------------------------------------


def load_schema(path: str | Path | None = None) -> LabelSchema:
    """Read, check and build the label schema; raise one :class:`SchemaError` listing every problem.

    ``path`` defaults as :func:`schema_path` says: ``$SPANBANK_SCHEMA``, the working directory's
    ``schema/spanbank.yaml``, else the shipped schema.
    """
    where = schema_path(path)
    data = read_yaml(where)
    problems = check_schema(data, display(where))
    if problems:
        raise _schema_error(problems, display(where))
    return _build(data, content_hash(data))


def _schema_error(problems: list[Problem], shown: str) -> SchemaError:
    if len(problems) == 1:
        err = SchemaError(problems[0].message, path=problems[0].path, line=problems[0].line)
    else:
        listing = "\n".join(f"  {p}" for p in problems)
        err = SchemaError(f"{len(problems)} problems in the label schema:\n{listing}", path=shown)
    err.problems = problems  # type: ignore[attr-defined]
    return err


def _label(data: dict) -> Label:
    return Label(
        name=data["name"],
        definition=data["definition"].strip(),
        examples=tuple(data.get("examples") or ()),
        color=data.get("color") or Label.color,
        shortcut=data.get("shortcut"),
    )


def _event_type(data: dict) -> EventType:
    roles = tuple(Role(r["name"], tuple(r["entity_types"] or ())) for r in data.get("roles") or ())
    return EventType(_label(data), roles)


def _build(data: dict, sha256: str) -> LabelSchema:
    attribution = data["attribution"]
    return LabelSchema(
        name=data["name"],
        version=data["version"],
        entity_types=tuple(_label(d) for d in data["entity_types"]),
        event_types=tuple(_event_type(d) for d in data["event_types"]),
        attribution_labels=tuple(_label(d) for d in attribution.get("labels") or ()),
        attribution_links=tuple(_label(d) for d in attribution.get("links") or ()),
        sha256=sha256,
        gazetteer=dict(data.get("gazetteer") or {}),
        description=" ".join((data.get("description") or "").split()),
        conventions=tuple(data.get("conventions") or ()),
        nesting=attribution.get("nesting", "allowed"),
    )
