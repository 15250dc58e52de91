"""The card's examples: one short row per config, rendered as JSON with short lines.

The ``documents`` example is an excerpt of the build's example document (the shortest annotated
one): its text up to the end of the first sentence holding an entity, with the first few list items
inside that excerpt (offsets unchanged, so ``text[start:end]`` still holds).  The sentence configs'
and the attribution config's examples are read from the written parquet files (the shortest row
with annotations among the first rows of the first shard).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

MAX_STRING = 300  # longer strings are cut with "…"
ONE_LINE = 160  # a list or struct whose JSON is longer is written one item per line
SCAN_ROWS = 2000  # rows read from the first shard to pick an example
EXCERPT_ITEMS = 3  # the documents excerpt keeps the first items of each list


def excerpt(row: dict[str, Any]) -> dict[str, Any]:
    """The ``documents`` row cut after the first sentence that holds an entity (all offsets unchanged)."""
    entities = row.get("entities") or []
    first = min((e["end"] for e in entities), default=0)
    cut = next((s["end"] for s in row.get("sentences") or () if s["end"] >= first), len(row["text"]))
    inside = lambda span: span is None or span["end"] <= cut  # noqa: E731
    out = dict(row)
    out["text"] = row["text"][:cut]
    n = EXCERPT_ITEMS
    out["entities"] = sorted((e for e in entities if inside(e)), key=lambda e: e["start"])[:n]
    out["events"] = [{**e, "arguments": [a for a in e["arguments"] if inside(a)][:n]}
                     for e in row.get("events") or () if inside(e["trigger"])][:n]
    out["attributions"] = [a for a in row.get("attributions") or ()
                           if all(inside(a[p]) for p in ("cue", "source", "content"))][:n]
    for key in ("sections", "paragraphs", "sentences", "tokens"):
        out[key] = [p for p in row.get(key) or () if p["end"] <= cut][:n]
    return out


def _pick(table: Any, config: str) -> dict[str, Any] | None:
    """The example row of ``table``: the shortest annotated one (the first on ties), converted alone to Python."""
    if not table.num_rows:
        return None
    if config == "attribution":
        key = _lengths(table.column("context"), chars=True)
    else:
        tokens = _lengths(table.column("tokens"))
        if config == "ner":
            tags = table.column("ner_tags")
            flat = np.asarray(pc.list_flatten(tags))
            tagged = np.zeros(table.num_rows, bool)
            tagged[np.asarray(pc.list_parent_indices(tags))[flat != 0]] = True
            key = np.where(tagged, tokens, np.iinfo(np.int64).max)
        else:  # events: prefer an event with two arguments or more, then the shortest sentence
            events = _lengths(table.column("events"))
            args = np.zeros(table.num_rows, np.int64)
            has = np.flatnonzero(events > 0)
            if len(has):
                head = pc.list_element(table.column("events").take(pa.array(has)), 0)
                args[has] = np.minimum(_lengths(pc.struct_field(head, "arguments")), 2)
            key = np.where(events > 0, (2 - args) * (1 << 40) + tokens, np.iinfo(np.int64).max)
    i = int(np.argmin(key))
    if key[i] == np.iinfo(np.int64).max:
        return None
    return table.slice(i, 1).to_pylist()[0]


def _lengths(column: Any, chars: bool = False) -> np.ndarray:
    lengths = pc.utf8_length(column) if chars else pc.list_value_length(column)
    return np.asarray(pc.fill_null(lengths, 0), np.int64)


def config_examples(folder: Path, report: Any, columns: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """config -> its example row, of its ``columns`` (configs without an annotated row are left out)."""
    out: dict[str, dict[str, Any]] = {}
    if report.example is not None:
        out["documents"] = excerpt(report.example)
    for config in ("ner", "events", "attribution"):
        shards = [s for split in report.splits(config) for s in report.shards[config][split]]
        if not shards:
            continue
        batches = pq.ParquetFile(folder / shards[0]).iter_batches(batch_size=SCAN_ROWS, columns=columns[config])
        row = _pick(next(batches), config)
        if row is not None:
            out[config] = row
    return out


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_STRING:
        return value[:MAX_STRING] + "…"
    if isinstance(value, list):
        return [_clip(v) for v in value]
    if isinstance(value, dict):
        return {k: _clip(v) for k, v in value.items()}
    return value


def _lines(value: Any, indent: str) -> list[str]:
    """``value`` as JSON: one line when short, else one item per line (recursively)."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) <= ONE_LINE or not isinstance(value, (list, dict)) or not value:
        return [flat]
    items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
    inner = indent + " "
    out = ["{" if isinstance(value, dict) else "["]
    for i, (key, item) in enumerate(items):
        sub = _lines(item, inner)
        head = f"{inner}{json.dumps(key, ensure_ascii=False)}: " if key is not None else inner
        sub[0] = head + sub[0]
        if i < len(items) - 1:
            sub[-1] += ","
        out += sub
    out.append(indent + ("}" if isinstance(value, dict) else "]"))
    return out


def render_json(row: dict[str, Any]) -> Iterator[str]:
    """A row as valid JSON whose lines stay short (long strings cut, long lists broken into lines)."""
    yield from _lines(_clip(row), "")
