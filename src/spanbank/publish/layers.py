"""The annotation side of a block: the published set, spans checked against the text, references resolved.

The published layer of a document is :meth:`~spanbank.model.Document.published_set` (its ``gold`` set when
it has any gold record, else ``silver``), computed here for a whole block at once; the reference
builder (:mod:`.reference`) applies the model's rule per document and the tests check both agree.
Its spans are checked (``text[start:end] == span text``, code points), its events and
attributions resolved to their spans with one hash lookup on ``(document id, span id)`` keys, and
every label turned into its ClassLabel id with ``pyarrow.compute.index_in`` against the schema's
names (an unknown label is an error naming it).  All arrays are sorted by (document, id).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import records
from ..errors import CorpusError, PublishError
from ..model import GOLD, SILVER
from .arrow import (as_array, encode, first_true, group_offsets, list_of, lookup, numpy, offsets_of, struct,
                    take_batch)
from .docs import Docs
from .read import line_of

PARTS = (("cue", "CUE"), ("source", "SOURCE"), ("content", "CONTENT"))
COLUMNS = {kind: [f.key for f in struct.fields] for kind, struct in records.KINDS.items()}  # what the build reads
FIX = "run `spanbank validate` for every problem"


@dataclass(frozen=True)
class Names:
    """The ClassLabel names of the schema, in its append-only order."""

    entity: list[str]
    event: list[str]
    role: list[str]


@dataclass
class Records:
    """Published records of one kind, sorted by (document, id): the raw columns plus their document index."""

    batch: pa.RecordBatch
    doc: np.ndarray
    row: np.ndarray  # record index in annotations.jsonl

    def __getitem__(self, name: str) -> pa.Array:
        return self.batch.column(name)

    def __len__(self) -> int:
        return self.batch.num_rows

    def take(self, rows: np.ndarray, columns: tuple[str, ...] | None = None) -> "Records":
        batch = self.batch if columns is None else self.batch.select(list(columns))
        return Records(take_batch(batch, rows), self.doc[rows], self.row[rows])


def published(docs: Docs, ann_path: Path) -> tuple[pa.Array, dict[str, Records]]:
    """The published set name per document (null when none) and its records by kind."""
    ann = docs.block.ann
    rows = docs.block.ann_row + np.arange(ann.num_rows, dtype=np.int64)
    doc, found = _runs_lookup(ann.column("doc"), docs.ids)
    bad = first_true(~found) if not found.all() else first_true(np.diff(docs.original[doc]) < 0)
    if bad is not None:
        bad += 0 if not found.all() else 1
        raise CorpusError(f"annotation for document {ann.column('doc')[bad].as_py()!r} has no document, or is out of "
                          "order", path=str(ann_path), line=line_of(ann_path, int(rows[bad])), hint=FIX)
    gold = np.asarray(pc.fill_null(pc.equal(ann.column("set"), GOLD), False))
    silver = np.asarray(pc.fill_null(pc.equal(ann.column("set"), SILVER), False))
    has_gold = np.bincount(doc[gold], minlength=docs.n) > 0
    has_silver = np.bincount(doc[silver], minlength=docs.n) > 0
    keep = np.where(has_gold[doc], gold, silver)
    chosen = pc.if_else(pa.array(has_gold), GOLD, pc.if_else(pa.array(has_silver), SILVER, pa.scalar(None, pa.string())))
    kind = ann.column("kind")
    records = {}
    for name in ("span", "event", "attribution"):
        picked = np.flatnonzero(keep & np.asarray(pc.fill_null(pc.equal(kind, name), False)))
        order = _document_order(doc[picked], ann.column("id").take(pa.array(picked)))
        picked = picked if order is None else picked[order]  # then one take of the records' columns
        records[name] = Records(take_batch(ann.select(COLUMNS[name]), picked), doc[picked], rows[picked])
    return chosen, records


def _document_order(doc: np.ndarray, ids: pa.Array) -> np.ndarray | None:
    """The order of records (of documents ``doc``, ids ``ids``) sorted by (document, id), or None when they already are.

    The store writes each document's records sorted by id, so a stable sort of the document
    index is enough (no string sort); records whose ids are out of order within a document fall
    back to the full sort.
    """
    n = len(doc)
    if n < 2:
        return None
    same = doc[1:] == doc[:-1]
    if (same & np.asarray(pc.fill_null(pc.less(ids.slice(1), ids.slice(0, n - 1)), False))).any():
        order = numpy(pc.sort_indices(pa.table({"doc": doc, "id": ids}), [("doc", "ascending"), ("id", "ascending")]))
    elif (doc[1:] >= doc[:-1]).all():
        return None
    else:
        order = np.argsort(doc, kind="stable")
    return order


def _runs_lookup(keys: pa.Array, table: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~.arrow.lookup` for keys that come in runs (records sorted by document): one hash per run."""
    n = len(keys)
    if n < 2:
        return lookup(keys, table)
    change = np.asarray(pc.fill_null(pc.not_equal(keys.slice(1), keys.slice(0, n - 1)), True))
    starts = np.concatenate([[0], np.flatnonzero(change) + 1])
    rows, found = lookup(keys.take(pa.array(starts)), table)
    lengths = np.diff(np.append(starts, n))
    return np.repeat(rows, lengths), np.repeat(found, lengths)


Owner = Callable[[int], str]  # row -> "event E1", "attribution A2 cue", ... for error messages


class Layers:
    """Spans, events and attributions of a block's published sets, resolved and encoded.

    ``columns`` holds the ``entities``, ``events`` and ``attributions`` columns of the ``documents``
    config; the resolved arrays stay available for the sentence configs and the statistics.
    """

    def __init__(self, docs: Docs, schema: pa.Schema, names: Names, ann_path: Path) -> None:
        self.docs, self.schema, self.names, self.ann_path = docs, schema, names, ann_path
        self.chosen, records = published(docs, ann_path)
        self.spans, self.events, self.attributions = records["span"], records["event"], records["attribution"]
        _require(docs, self.spans, ann_path, "id", "layer", "label", "start", "end", "text", "prov")
        _require(docs, self.events, ann_path, "id", "type", "prov")
        _require(docs, self.attributions, ann_path, "id", "prov")
        self.span_start, self.span_end = numpy(self.spans["start"]), numpy(self.spans["end"])
        self._check_spans()
        # (document, span id) -> row without string keys: ids coded against the block's distinct span ids,
        # keys doc * V + code searched in their stable sort (ties: the first row, like a hash lookup)
        self.id_names = pc.unique(self.spans["id"])
        codes = numpy(pc.index_in(self.spans["id"], value_set=self.id_names))
        self.span_keys = self.spans.doc * max(len(self.id_names), 1) + codes
        self.key_order = np.argsort(self.span_keys, kind="stable")
        self.sorted_keys = self.span_keys[self.key_order]
        self.prov_type = schema.field("entities").type.value_type.field("provenance").type
        self.nested = struct(schema.field("events").type.value_type.field("trigger").type, {
            "id": self.spans["id"], "start": self.span_start, "end": self.span_end, "text": self.spans["text"],
            "status": pc.struct_field(self.spans["prov"], "status"), "provenance": self._provenance(self.spans["prov"])})
        self.used = np.zeros(len(self.spans), bool)
        self.columns = {"entities": self._entities(), "events": self._events(), "attributions": self._attributions()}

    # --- checks -----------------------------------------------------------------------------------

    def _check_spans(self) -> None:
        doc, start, end = self.spans.doc, self.span_start, self.span_end
        sliced = self.docs.texts.slice(doc, start, end)
        same = np.asarray(pc.equal(sliced, self.spans["text"]))
        bad = first_true(~((start >= 0) & (start < end) & (end <= self.docs.texts.length[doc]) & same))
        if bad is None:
            return
        sid, text, actual = self.spans["id"][bad].as_py(), self.spans["text"][bad].as_py(), sliced[bad].as_py()
        raise PublishError(f"document {self.docs.ids[doc[bad]].as_py()}, span {sid}: [{start[bad]}, {end[bad]}) does "
                           f"not slice the text to {text!r} (the text there is {actual!r})", path=str(self.ann_path),
                           line=line_of(self.ann_path, int(self.spans.row[bad])), value=text,
                           hint="fix the span's offsets or text (run `spanbank validate` for every problem)")

    def _keys(self, doc: np.ndarray, ids: pa.Array) -> pa.Array:
        return pc.binary_join_element_wise(self.docs.ids.take(pa.array(doc, pa.int64())), ids, "\x1f")

    def _span_rows(self, doc: np.ndarray, refs: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Row of span ``refs[i]`` of document ``doc[i]`` (first match) and a "found" mask; missing refs get row 0."""
        code = pc.index_in(refs, value_set=self.id_names)
        known = np.asarray(code.is_valid())
        keys = np.asarray(doc, np.int64) * max(len(self.id_names), 1) + numpy(code)
        at = np.minimum(np.searchsorted(self.sorted_keys, keys, "left"), max(len(self.sorted_keys) - 1, 0))
        if not len(self.sorted_keys):
            return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
        found = known & (self.sorted_keys[at] == keys)
        return np.where(found, self.key_order[at], 0), found

    def resolve(self, doc: np.ndarray, refs: pa.Array, owner: Owner, label: pa.Array | str | None = None,
                optional: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Span rows referenced by ``refs`` (ids within ``doc``) and a "present" mask; raises on a dangling reference.

        ``label``: the label each referenced span must have (None: any).  ``optional``: a null reference is allowed.
        """
        rows, found = self._span_rows(doc, refs)
        present = np.asarray(refs.is_valid()) if optional else np.ones(len(refs), bool)
        bad = first_true(present & ~found)
        if bad is not None:
            d = int(doc[bad])
            raise PublishError(f"document {self.docs.ids[d].as_py()}: {owner(bad)} refers to span "
                               f"{refs[bad].as_py()!r}, which is not in the {self.chosen[d].as_py()} set",
                               path=self.docs.where(d), value=refs[bad].as_py(), hint="run `spanbank validate`")
        if label is not None:
            same = pc.fill_null(pc.equal(self.spans["label"].take(pa.array(rows)), label), False)
            bad = first_true(present & ~np.asarray(same))
            if bad is not None:
                d, want = int(doc[bad]), label if isinstance(label, str) else label[bad].as_py()
                got = self.spans["label"][rows[bad]].as_py()
                raise PublishError(f"document {self.docs.ids[d].as_py()}: {owner(bad)} uses span "
                                   f"{refs[bad].as_py()} labelled {got!r}, expected {want!r}", path=self.docs.where(d),
                                   value=got, allowed=[want], hint="relabel the span (run `spanbank validate`)")
        self.used[rows[present]] = True
        return rows, present

    def encode(self, values: pa.Array, names: list[str], kind: str, doc: np.ndarray, owner: Owner) -> pa.Array:
        """ClassLabel ids of ``values``; an unknown label raises, naming the document line and its owner."""
        ids, bad = encode(values, names)
        if bad is not None:
            name = values[bad].as_py()
            raise PublishError(f"{self.docs.where(int(doc[bad]))}: {owner(bad)}: {kind} label {name!r} is not in the "
                               "schema", value=name, allowed=names,
                               hint="fix the label (run `spanbank validate`) or extend the schema")
        return ids

    def _provenance(self, prov: pa.Array) -> pa.StructArray:
        """The published provenance (kind defaults to ``machine``; time and detail to ``""``); null stays null."""
        def field(name: str, default: str) -> pa.Array:
            return pc.fill_null(pc.struct_field(prov, name), default)
        return struct(self.prov_type, {"agent": pc.struct_field(prov, "agent"), "kind": field("kind", "machine"),
                                       "time": field("time", ""), "detail": field("detail", "")},
                      mask=np.asarray(prov.is_null()))

    def _grouped(self, name: str, doc: np.ndarray, values: pa.Array) -> pa.ListArray:
        return list_of(self.schema.field(name).type, group_offsets(doc, self.docs.n), values)

    # --- the documents config's annotation columns ------------------------------------------------

    def _entities(self) -> pa.ListArray:
        rows = np.flatnonzero(np.asarray(pc.fill_null(pc.equal(self.spans["layer"], "entities"), False)))
        self.ent_rows, self.ents = rows, self.spans.take(rows, ("id", "label", "text"))  # what entities use
        self.ent_labels = self.encode(self.ents["label"], self.names.entity, "entity", self.ents.doc,
                                      lambda i: f"span {self.ents['id'][i].as_py()}")
        nested = self.nested.take(pa.array(rows))
        type_ = self.schema.field("entities").type.value_type
        return self._grouped("entities", self.ents.doc, struct(type_, {**{f.name: nested.field(f.name) for f in nested.type},
                                                                      "label": self.ent_labels}))

    def _events(self) -> pa.ListArray:
        ev = self.events
        owner: Owner = lambda i: f"event {ev['id'][i].as_py()}"  # noqa: E731
        self.trigger, _ = self.resolve(ev.doc, ev["trigger"], owner, label=ev["type"])
        counts = numpy(pc.list_value_length(ev["arguments"]))
        args = pc.list_flatten(ev["arguments"])
        self.arg_event = np.repeat(np.arange(len(ev), dtype=np.int64), counts)
        arg_doc, roles = ev.doc[self.arg_event], pc.struct_field(args, "role")
        self.arg_span, _ = self.resolve(arg_doc, pc.struct_field(args, "span"),
                                        lambda i: f"{owner(self.arg_event[i])} argument {roles[i].as_py()}")
        self.roles = self.encode(roles, self.names.role, "role", arg_doc, lambda i: owner(self.arg_event[i]))
        self.types = self.encode(ev["type"], self.names.event, "event", ev.doc, owner)
        type_ = self.schema.field("events").type.value_type
        arg_type = type_.field("arguments").type
        arg_prov = pc.struct_field(args, "prov")
        event_status = pc.struct_field(ev["prov"], "status")
        arguments = list_of(arg_type, offsets_of(counts), struct(arg_type.value_type, {
            "role": self.roles, "entity_id": self.spans["id"].take(pa.array(self.arg_span)),
            "start": self.span_start[self.arg_span], "end": self.span_end[self.arg_span],
            "text": self.spans["text"].take(pa.array(self.arg_span)),
            "status": pc.coalesce(pc.struct_field(arg_prov, "status"), event_status.take(pa.array(self.arg_event))),
            "provenance": self._provenance(arg_prov)}))
        return self._grouped("events", ev.doc, struct(type_, {
            "id": ev["id"], "type": self.types, "trigger": self.nested.take(pa.array(self.trigger)),
            "arguments": arguments, "status": event_status, "provenance": self._provenance(ev["prov"])}))

    def _attributions(self) -> pa.ListArray:
        at = self.attributions
        self.parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        columns = {}
        for part, label in PARTS:
            rows, present = self.resolve(at.doc, at[part], lambda i, p=part: f"attribution {at['id'][i].as_py()} {p}",
                                         label, optional=part == "source")
            self.parts[part] = rows, present
            columns[part] = self.nested.take(pa.array(rows, mask=~present))
        self.att_struct = {**columns, "id": at["id"], "parent": at["parent"],
                           "status": pc.struct_field(at["prov"], "status"), "provenance": self._provenance(at["prov"])}
        type_ = self.schema.field("attributions").type.value_type
        return self._grouped("attributions", at.doc, struct(type_, self.att_struct))

    # --- the attribution config and the statistics ------------------------------------------------

    def attribution_table(self, schema: pa.Schema) -> pa.Table:
        """One row per published attribution, with its nesting depth and the sentences around it."""
        at = self.attributions
        lo = np.full(len(at), np.iinfo(np.int64).max)
        hi = np.full(len(at), np.iinfo(np.int64).min)
        for rows, present in self.parts.values():
            lo = np.where(present, np.minimum(lo, self.span_start[rows]), lo)
            hi = np.where(present, np.maximum(hi, self.span_end[rows]), hi)
        si, s_found = self.docs.sentence_of(at.doc, lo)
        sj, e_found = self.docs.sentence_of(at.doc, hi - 1)
        lo = np.where(s_found, self.docs.sent_start[si], lo)
        hi = np.where(e_found, self.docs.sent_end[sj], hi)
        columns = {**self.att_struct, "doc_id": self.docs.ids.take(pa.array(at.doc)), "depth": self._depths(),
                   "context": self.docs.texts.slice(at.doc, lo, hi), "context_start": lo}
        return pa.Table.from_arrays([as_array(columns[f.name], f.type) for f in schema], schema=schema)

    def _depths(self) -> np.ndarray:
        """How many attributions each one is nested in (0 = top level); a cycle stops the count."""
        at = self.attributions
        parent = at["parent"]
        rows, found = lookup(self._keys(at.doc, parent), self._keys(at.doc, at["id"]))
        has = np.asarray(parent.is_valid())
        up = np.where(found, rows, -1)  # the parent's row, -1 when the parent id names no attribution
        depth, cur = has.astype(np.int64), np.where(has, up, -1)
        for _ in range(int(np.bincount(at.doc).max(initial=0)) + 1):
            active = cur >= 0
            active[active] = has[cur[active]]
            if not active.any():
                return depth
            depth += active
            cur = np.where(active, up[np.maximum(cur, 0)], -1)
        for i in np.flatnonzero(active):  # the chain runs into a cycle: count as the reference rule does
            depth[i] = _cycle_depth(at, int(i))
        return depth

    def label_counts(self, split: np.ndarray, splits: tuple[str, ...]) -> dict[tuple[str, str, str], int]:
        """(split, layer, label) -> published records, for the card's statistics."""
        out = {}
        for layer, doc, ids, names in (("entities", self.ents.doc, self.ent_labels, self.names.entity),
                                       ("events", self.events.doc, self.types, self.names.event),
                                       ("roles", self.events.doc[self.arg_event], self.roles, self.names.role)):
            keys = split[doc] * len(names) + numpy(ids)
            for key, n in enumerate(np.bincount(keys, minlength=len(splits) * len(names))):
                if n:
                    out[splits[key // len(names)], layer, names[key % len(names)]] = int(n)
        for s, n in enumerate(np.bincount(split[self.attributions.doc], minlength=len(splits))):
            if n:
                out[splits[s], "attribution", "attributions"] = int(n)
        return out

    @property
    def dropped_spans(self) -> int:
        """Published spans outside the entity layer that no event or attribution uses."""
        other = ~np.asarray(pc.fill_null(pc.equal(self.spans["layer"], "entities"), False))
        return int((other & ~self.used).sum())


def _require(docs: Docs, records: Records, path: Path, *names: str) -> None:
    """Required fields of published records; a missing one is reported at its annotation line."""
    for name in names:
        if records[name].null_count:
            i = int(np.flatnonzero(np.asarray(records[name].is_null()))[0])
            raise PublishError(f"document {docs.ids[int(records.doc[i])].as_py()!r} has a malformed record (no "
                               f"{name!r})", path=str(path), line=line_of(path, int(records.row[i])), hint=FIX)


def _cycle_depth(at: Records, i: int) -> int:
    ids, parents_col, doc = at["id"], at["parent"], at.doc
    rows = np.flatnonzero(doc == doc[i])
    parents = {ids[int(r)].as_py(): parents_col[int(r)].as_py() for r in rows}
    depth, seen, cur = 0, {ids[i].as_py()}, parents_col[i].as_py()
    while cur is not None and cur not in seen:
        depth, cur = depth + 1, parents.get(cur)
        seen.add(cur)
    return depth
