"""The sentence configs: ``events`` (trigger tags + arguments + entity mentions, and the IOB2 entity tags) and
its view ``ner`` (conll2003 layout: the sentence columns and ``ner_tags`` of the same files).

Rows are the documents' sentences, each with its tokens (the text sliced at the token offsets)
and offsets.  Tags are computed once per block over all tokens: spans are sorted by (document,
start, longest first) and placed greedily; a span overlapping an already tagged token cannot be
expressed in IOB2 and is skipped (counted as a conflict).  A sentence starting inside a span
restarts it with ``B-``: the IOB2 rule of :mod:`spanbank.iob2` (ids in the order of :func:`spanbank.iob2.tag_names`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import iob2
from .arrow import as_array, list_of, numpy, offsets_of, ranges, struct
from .docs import Docs
from .layers import Layers


Tokens = tuple[np.ndarray, np.ndarray]  # block-wide token indices [first, last) of spans (Docs.token_range)


class Sentences:
    """Sentence rows of one block: the token range of each sentence and the shared columns."""

    def __init__(self, docs: Docs) -> None:
        self.docs = docs
        first = docs.tokens_from(docs.sent_doc, docs.sent_start)
        self.first, self.last = first, np.maximum(docs.tokens_from(docs.sent_doc, docs.sent_end), first)
        self.offsets = offsets_of(self.last - self.first)
        n = len(docs.tok_doc)
        # block-wide token index of every sentence token; when the sentences cover every token in order (they
        # usually do), all of them, as a slice: the token columns are then used as they are, without a gather
        every = len(first) and first[0] == 0 and self.last[-1] == n and (first[1:] == self.last[:-1]).all()
        self.tokens: np.ndarray | slice = slice(0, n) if every else ranges(self.first, self.last - self.first)
        self.doc = docs.sent_doc
        self._base: dict[str, pa.Array | np.ndarray] | None = None

    def base(self, schema: pa.Schema) -> dict[str, pa.Array | np.ndarray]:
        """The columns both sentence configs share (computed once per block)."""
        if self._base is None:
            self._base = self._columns(schema)
        return self._base

    def _columns(self, schema: pa.Schema) -> dict[str, pa.Array | np.ndarray]:
        d, tokens = self.docs, self.tokens
        index = np.arange(len(self.doc), dtype=np.int64) - d.sent_offsets[self.doc]
        doc_id = d.ids.take(pa.array(self.doc))
        pairs = schema.field("offsets").type
        if isinstance(tokens, slice):  # every token of the block: the documents' token pairs, as they are
            offsets = pc.list_flatten(d.boundaries["tokens"]).cast(pairs.value_type)
        else:
            offsets = struct(pairs.value_type, {"start": d.tok_start[tokens], "end": d.tok_end[tokens]})
        return {"id": pc.binary_join_element_wise(doc_id, pa.array(index).cast(pa.string()), ":"), "doc_id": doc_id,
                "sentence": index, "start": d.sent_start, "end": d.sent_end,
                "tokens": list_of(schema.field("tokens").type, self.offsets,
                                  d.texts.slice(d.tok_doc[tokens], d.tok_start[tokens], d.tok_end[tokens])),
                "offsets": list_of(pairs, self.offsets, offsets)}

    def tags(self, doc: np.ndarray, start: np.ndarray, end: np.ndarray, labels: np.ndarray,
             tokens: Tokens) -> tuple[np.ndarray, int]:
        """Per sentence token IOB2 tag ids (:mod:`spanbank.iob2`) for spans ``[start, end)`` of ``doc`` with label ids
        ``labels`` (``tokens``: their :meth:`~.docs.Docs.token_range`).

        Returns the tags (aligned with :attr:`tokens`) and the number of spans that could not be tagged.
        """
        order = np.lexsort((start - end, start, doc))
        first, last = tokens[0][order], tokens[1][order]
        tags, ok = iob2.encode(len(self.docs.tok_doc), first, last, labels[order], doc[order])
        out = iob2.restart(tags[self.tokens], self.offsets[:-1][self.last > self.first])
        return out, int((~ok).sum())

    def token_ref(self, doc: np.ndarray, sentence: np.ndarray, tokens: Tokens) -> dict[str, pa.Array]:
        """Token indices [start_token, end_token) of spans (of ``doc``, ``tokens``: their
        :meth:`~.docs.Docs.token_range`) within their sentence (null when not inside it)."""
        if not len(self.first):  # a block without sentences: no span is inside one
            nulls = pa.nulls(len(doc), pa.int32())
            return {"start_token": nulls, "end_token": nulls}
        a, b = tokens
        first, last = self.first[sentence], self.last[sentence]
        ok = (a >= first) & (b <= last) & (a < b)
        return {"start_token": pa.array(a - first, pa.int32(), mask=~ok),
                "end_token": pa.array(b - first, pa.int32(), mask=~ok)}


def ner_tags(sentences: Sentences, layers: Layers, tokens: Tokens) -> tuple[np.ndarray, int]:
    """Per sentence token IOB2 entity tag ids, and the number of entity spans IOB2 cannot express."""
    rows = layers.ent_rows
    return sentences.tags(layers.ents.doc, layers.span_start[rows], layers.span_end[rows], numpy(layers.ent_labels),
                          tokens)


def events_table(sentences: Sentences, layers: Layers, schema: pa.Schema) -> tuple[pa.Table, int]:
    """The ``events`` rows of a block (trigger tags and, per sentence, the events whose trigger starts in it; also
    the entity tags the ``ner`` view selects), and the number of entity spans IOB2 cannot express."""
    ev, trig, docs = layers.events, layers.trigger, sentences.docs
    start, end = layers.span_start[trig], layers.span_end[trig]
    trigger_tokens = docs.token_range(ev.doc, start, end)  # once for the tags and the triggers' token indices
    tags, _ = sentences.tags(ev.doc, start, end, numpy(layers.types), trigger_tokens)
    sentence, found = docs.sentence_of(ev.doc, start)
    event_type = schema.field("events").type.value_type
    trigger = struct(event_type.field("trigger").type, {"start": start, "end": end,
                                                        "text": layers.spans["text"].take(pa.array(trig)),
                                                        **sentences.token_ref(ev.doc, sentence, trigger_tokens)})
    events = struct(event_type, {"id": ev["id"], "type": layers.types, "trigger": trigger,
                                 "arguments": _arguments(sentences, layers, event_type.field("arguments").type, sentence)})
    kept = np.flatnonzero(found)
    kept = kept[np.argsort(sentence[kept], kind="stable")]
    per_sentence = offsets_of(np.bincount(sentence[kept], minlength=len(sentences.doc)))
    rows = layers.ent_rows
    entity_tokens = docs.token_range(layers.ents.doc, layers.span_start[rows], layers.span_end[rows])  # tags, mentions
    entity_tags, conflicts = ner_tags(sentences, layers, entity_tokens)
    columns = {**sentences.base(schema), "events": list_of(schema.field("events").type, per_sentence,
                                                           events.take(pa.array(kept, pa.int64()))),
               "trigger_tags": list_of(schema.field("trigger_tags").type, sentences.offsets, tags),
               "ner_tags": list_of(schema.field("ner_tags").type, sentences.offsets, entity_tags),
               "entities": _mentions(sentences, layers, schema.field("entities").type, entity_tokens)}
    return _table(schema, columns), conflicts


def _arguments(sentences: Sentences, layers: Layers, type_: pa.ListType, sentence: np.ndarray) -> pa.ListArray:
    rows, event = layers.arg_span, layers.arg_event
    start, end, doc = layers.span_start[rows], layers.span_end[rows], layers.events.doc[event]
    taken = pa.array(rows, pa.int64())
    is_entity = pc.fill_null(pc.equal(layers.spans["layer"].take(taken), "entities"), False)
    entity_type = pc.if_else(is_entity, pc.index_in(layers.spans["label"].take(taken),
                                                    value_set=pa.array(layers.names.entity)),
                             pa.scalar(None, pa.int32()))  # null: a value role filled by a non-entity span
    values = struct(type_.value_type, {"role": layers.roles, "entity_id": layers.spans["id"].take(taken),
                                       "entity_type": entity_type.cast(pa.int64()),
                                       "start": start, "end": end, "text": layers.spans["text"].take(taken),
                                       **sentences.token_ref(doc, sentence[event],
                                                             sentences.docs.token_range(doc, start, end))})
    return list_of(type_, offsets_of(np.bincount(event, minlength=len(layers.events))), values)


def _mentions(sentences: Sentences, layers: Layers, type_: pa.ListType, tokens: Tokens) -> pa.ListArray:
    """Per sentence, the entity mentions that start in it (ordered by start, longest first), with token indices."""
    ents, docs = layers.ents, sentences.docs
    start, end = layers.span_start[layers.ent_rows], layers.span_end[layers.ent_rows]
    sentence, found = docs.sentence_of(ents.doc, start)
    kept = np.flatnonzero(found)
    kept = kept[np.lexsort((start[kept] - end[kept], start[kept], sentence[kept]))]
    values = struct(type_.value_type, {"id": ents["id"], "type": layers.ent_labels, "start": start, "end": end,
                                       "text": ents["text"], **sentences.token_ref(ents.doc, sentence, tokens)})
    per_sentence = offsets_of(np.bincount(sentence[kept], minlength=len(sentences.doc)))
    return list_of(type_, per_sentence, values.take(pa.array(kept, pa.int64())))


def _table(schema: pa.Schema, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    return pa.Table.from_arrays([as_array(columns[f.name], f.type) for f in schema], schema=schema)
