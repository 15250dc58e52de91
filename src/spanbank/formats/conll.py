"""CoNLL / IOB token-tag files and CoNLL-U: read into the model, write back out, render a set as BIO tags.

Format read (``--format conll``): one token per line, whitespace-separated columns, the token in
column ``token_column`` (1-based, default 1) and the tag in ``tag_column`` (default: the last
column); a blank line between sentences.  ``--format conllu`` reads CoNLL-U (tab-separated, the
token in FORM, multi-word-token and empty-node lines skipped, ``SpaceAfter=No`` honoured); its tag
comes from ``tag_column`` given as a number, as a column name of ``# global.columns`` (CoNLL-U
Plus), or as ``MISC:KEY`` (the ``KEY=B-PER`` item of the MISC column).

Comment lines (``#`` before a sentence's first token) are skipped, except:

- ``# text = ...``: the sentence's original text; its tokens are found in it in order (a token
  that is not there is an error naming file:line), so the stored text keeps the original spacing.
  Without it, a sentence's text is its tokens joined with single spaces.
- ``# sent_id = ...``, ``# newdoc id = ...`` / ``# doc_id = ...``: used for grouping.

Grouping sentences into documents (``group_by``): ``docstart`` (default) - a line whose token is
``-DOCSTART-`` starts a document (a file without one is one document); ``doc-id-prefix`` - a
``# newdoc id`` / ``# doc_id`` comment starts a document, else consecutive sentences whose
``sent_id`` share their prefix (the id without its final ``-N``/``_N``/``.N``/``:N``) form one;
``none`` - every sentence is a document.  Sentences are joined with ``\\n``; text and tokens are
NFC-normalized and their ``[start, end)`` offsets stored with the document.

Tags: ``O``, ``B-X``, ``I-X`` (IOB2); an ``I-X`` that does not continue an ``X`` starts a new mention
(IOB1 / conlleval leniency); ``S-X``/``U-X`` and ``E-X``/``L-X`` (BIOES / BILOU) are read too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

import numpy as np

from .. import iob2
from ..errors import InputError
from ..model import AnnotationSet, Document, Origin, Span, document_id
from ..text import decode, find_files, normalize
from .importing import ImportOptions, Imported, ImportReport, ReaderOption, guarded

DOCSTART = "-DOCSTART-"
SUFFIXES = (".conll", ".conllu", ".iob", ".iob2", ".bio", ".bioes", ".tsv", ".txt")
GROUPS = ("docstart", "doc-id-prefix", "none")
CONLLU_COLUMNS = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")
OPTIONS = (
    ReaderOption("tag-column", "CoNLL: column holding the tag: a number (1-based; default: the last column), a column "
                 "name of `# global.columns`, or MISC:KEY (CoNLL-U MISC item KEY=B-PER)."),
    ReaderOption("token-column", "CoNLL: column holding the token (1-based; default 1, CoNLL-U: FORM).", type=int),
    ReaderOption("group-by", "CoNLL: how sentences form documents (default docstart).", choices=GROUPS),
    ReaderOption("drop-label", "Drop spans with this label, and what hangs on them (repeatable).", multiple=True),
)
CANNOT_CARRY = ["events and attribution layers (entities only, IOB2)", "nested or overlapping entities (outer span kept)",
                "exact whitespace of the text (tokens joined by spaces on re-import)", "provenance"]
# prefix -> (opens a new mention even after the same type, closes the mention after this token)
PREFIXES = {"B": (True, False), "I": (False, False), "S": (True, True), "U": (True, True),
            "E": (False, True), "L": (False, True)}
COMMENT = re.compile(r"^#\s*([\w.]+(?:\s+id)?)\s*=\s?(.*)$")
SENT_SUFFIX = re.compile(r"^(.+?)[-_.:](\d+)$")


@dataclass
class _Sentence:
    line: int
    tokens: list[tuple[str, str, int, bool]] = field(default_factory=list)  # (token, tag, line, space after)
    text: str | None = None
    sent_id: str | None = None
    doc_id: str | None = None  # from a `# newdoc id` / `# doc_id` comment before it


@dataclass
class _Doc:
    line: int
    sentences: list[_Sentence] = field(default_factory=list)
    name: str | None = None


class _Columns:
    """Where the token and the tag are on a line, from the options (and `# global.columns`)."""

    def __init__(self, options: ImportOptions, conllu: bool, path: str) -> None:
        self.conllu, self.path = conllu, path
        self.names = list(CONLLU_COLUMNS) if conllu else []
        self.tag_spec = options.get("tag_column")
        token = options.get("token_column")
        if token is not None and token < 1:
            raise InputError(f"--token-column {token} is not a column number", value=token, hint="columns count from 1")
        self.token = (token or (2 if conllu else 1)) - 1
        self.set_tag()

    def set_tag(self) -> None:
        spec, self.misc_key, self.tag = self.tag_spec, None, None
        if spec is None:
            if self.conllu:
                raise InputError("CoNLL-U has no tag column of its own", path=self.path,
                                 hint="say where the tag is: --tag-column MISC:NER, --tag-column 11 or a "
                                      "`# global.columns` name")
            return
        spec = str(spec)
        if spec.upper().startswith("MISC:"):
            self.misc_key, self.tag = spec[5:], CONLLU_COLUMNS.index("MISC")
        elif spec.isdigit() and int(spec) >= 1:
            self.tag = int(spec) - 1
        elif spec in self.names:
            self.tag = self.names.index(spec)
        elif not self.names or self.names == list(CONLLU_COLUMNS):
            return  # a name that a later `# global.columns` line may define (checked on the first token)
        else:
            raise InputError(f"--tag-column {spec!r} is not a column of this file", path=self.path, value=spec,
                             allowed=self.names, hint="give a column number, a column name or MISC:KEY")

    def split(self, raw: str) -> list[str]:
        return raw.rstrip("\r\n").split("\t") if self.conllu else raw.split()

    def token_and_tag(self, cols: list[str], no: int) -> tuple[str, str, bool]:
        if self.tag is None and self.tag_spec is not None:
            raise InputError(f"--tag-column {self.tag_spec!r} is not a column of this file", path=self.path, line=no,
                             value=self.tag_spec, allowed=self.names or None,
                             hint="give a column number, a `# global.columns` name or MISC:KEY")
        tag_at = self.tag if self.tag is not None else len(cols) - 1
        if len(cols) < 2 or max(self.token, tag_at) >= len(cols):
            raise InputError(f"line has {len(cols)} column(s); need the token in column {self.token + 1} and the tag "
                             f"in column {tag_at + 1}", path=self.path, line=no, value=cols[0],
                             hint="put the tag in the last column (O, B-PER, I-PER, ...) or give --tag-column")
        misc = dict(item.partition("=")[::2] for item in cols[-1].split("|")) if self.conllu else {}
        space = misc.get("SpaceAfter") != "No"
        if self.misc_key is None:
            return cols[self.token], cols[tag_at], space
        tag = misc.get(self.misc_key)
        if tag is None:
            raise InputError(f"MISC has no {self.misc_key}= item", path=self.path, line=no, value=cols[tag_at],
                             hint=f"write {self.misc_key}=O outside mentions, or pick the key with --tag-column MISC:KEY")
        return cols[self.token], tag, space


def _sentences(lines: Iterable[str], path: str, columns: _Columns) -> Iterator[_Sentence]:
    sentence = _Sentence(1)
    for no, raw in enumerate(lines, start=1):
        cols = columns.split(raw)
        if not raw.strip():
            if sentence.tokens:
                yield sentence
            sentence = _Sentence(no + 1)
            continue
        if raw.startswith("#") and not sentence.tokens and _is_comment(raw, cols, columns):
            key, value = _comment(raw)
            if key == "text":
                sentence.text = value
            elif key == "sent_id":
                sentence.sent_id = value.strip()
            elif key in ("newdoc id", "newdoc", "doc_id"):
                sentence.doc_id = value.strip() or f"line {no}"
            elif key == "global.columns":
                columns.names = value.split()
                columns.set_tag()
            sentence.line = no + 1
            continue
        if cols[0] == DOCSTART:
            if sentence.tokens:
                yield sentence
            yield _Sentence(no, doc_id=DOCSTART)  # a marker: no tokens
            sentence = _Sentence(no + 1)
            continue
        if columns.conllu and ("-" in cols[0] or "." in cols[0]):
            continue  # multi-word token range or empty node: the words follow on their own lines
        token, tag, space = columns.token_and_tag(cols, no)
        sentence.tokens.append((token, tag, no, space))
    if sentence.tokens:
        yield sentence


def _comment(raw: str) -> tuple[str, str]:
    m = COMMENT.match(raw.strip())
    return (m.group(1), m.group(2)) if m else ("", "")


def _is_comment(raw: str, cols: list[str], columns: _Columns) -> bool:
    """A ``#`` line before a sentence is a comment unless it reads as a ``#`` token with a tag (``#\tO``)."""
    if columns.conllu or COMMENT.match(raw.strip()) or len(cols) < 2:
        return True
    tag = cols[columns.tag if columns.tag is not None else -1] if (columns.tag or 0) < len(cols) else ""
    return not (cols[0] == "#" and (tag == "O" or tag[:2] in {f"{p}-" for p in PREFIXES}))


def _documents(sentences: Iterable[_Sentence], group_by: str) -> Iterator[_Doc]:
    doc: _Doc | None = None
    key = None
    for sentence in sentences:
        if group_by == "docstart":
            if sentence.doc_id == DOCSTART:
                if doc is not None and doc.sentences:
                    yield doc
                doc = _Doc(sentence.line)
                continue
            if doc is None:
                doc = _Doc(sentence.line)
        elif sentence.doc_id == DOCSTART:
            continue
        elif group_by == "none":
            yield _Doc(sentence.line, [sentence], sentence.sent_id)
            continue
        else:
            if sentence.doc_id is not None:
                new_key = ("doc", sentence.doc_id)
            elif sentence.sent_id is not None and key is not None and key[0] == "doc":
                new_key = key  # sentences after a `# newdoc id` belong to it
            else:
                m = SENT_SUFFIX.match(sentence.sent_id or "")
                new_key = ("sent", m.group(1) if m else sentence.sent_id)
            if doc is None or new_key != key:
                if doc is not None and doc.sentences:
                    yield doc
                doc, key = _Doc(sentence.line, name=new_key[1]), new_key
        doc.sentences.append(sentence)
    if doc is not None and doc.sentences:
        yield doc


def _tag(tag: str, path: str, line: int) -> tuple[str, str | None]:
    """(prefix, label) of a tag; ``('O', None)`` outside mentions."""
    if tag == "O":
        return "O", None
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in PREFIXES or not label:
        raise InputError(f"tag {tag!r} is not O or PREFIX-LABEL", path=path, line=line, value=tag,
                         allowed=["O", "B-X", "I-X", "S-X", "E-X"], hint="write IOB2 tags such as B-PER, I-PER, O")
    return prefix, label


def _mentions(tags: list[tuple[str, int]], path: str) -> Iterator[tuple[int, int, str, int]]:
    """(first token, last token + 1, label, line) of every mention in one sentence's tags."""
    current: list | None = None
    for i, (tag, line) in enumerate(tags):
        prefix, label = _tag(tag, path, line)
        if label is None or PREFIXES[prefix][0] or current is None or current[2] != label:
            if current is not None:
                yield tuple(current)
            current = None if label is None else [i, i + 1, label, line]
        else:
            current[1] = i + 1
        if current is not None and PREFIXES[prefix][1]:
            yield tuple(current)
            current = None
    if current is not None:
        yield tuple(current)


def _sentence_text(sentence: _Sentence, path: str) -> tuple[str, list[tuple[int, int]], set[str]]:
    """The sentence's normalized text and each token's [start, end) in it (found in ``# text`` when given)."""
    steps: set[str] = set()
    offsets = []
    if sentence.text is not None:
        text, changed = normalize(sentence.text)
        steps.update(changed)
        text = text.strip()
        pos = 0
        for token, _, line, _ in sentence.tokens:
            norm, changed = normalize(token)
            steps.update(changed)
            at = text.find(norm, pos)
            if at < 0 or text[pos:at].strip():
                raise InputError(f"token {token!r} is not the next word of the sentence's `# text` (after offset {pos}: "
                                 f"{text[pos:pos + 30]!r})", path=path, line=line, value=token,
                                 hint="make the tokens and the `# text =` line agree, or drop the `# text` line")
            offsets.append((at, at + len(norm)))
            pos = at + len(norm)
        return text, offsets, steps
    parts, pos = [], 0
    for i, (token, _, _, space) in enumerate(sentence.tokens):
        norm, changed = normalize(token)
        steps.update(changed)
        offsets.append((pos, pos + len(norm)))
        sep = " " if space and i < len(sentence.tokens) - 1 else ""
        parts.append(norm + sep)
        pos += len(norm) + len(sep)
    return "".join(parts), offsets, steps


def _build(doc: _Doc, path: str, sha: str, options: ImportOptions, report: ImportReport | None) -> Imported:
    texts, tokens, sentences, mentions, steps = [], [], [], [], set()
    base = 0
    for sentence in doc.sentences:
        text, offsets, changed = _sentence_text(sentence, path)
        steps.update(changed)
        offsets = [(base + a, base + b) for a, b in offsets]
        tokens += offsets
        sentences.append((base, base + len(text)))
        for first, last, label, line in _mentions([(tag, line) for _, tag, line, _ in sentence.tokens], path):
            mentions.append((offsets[first][0], offsets[last - 1][1], label, line))
        texts.append(text)
        base += len(text) + 1  # the newline between sentences
    text = "\n".join(texts)
    spans = [span for span in (_span(text, i + 1, m, path, options, report) for i, m in enumerate(mentions)) if span]
    aset = AnnotationSet(options.set_name, tuple(spans))
    where = f"{path}:{doc.line}"
    document = Document(id=document_id(text), text=text, origin=Origin(where, sha, tuple(sorted(steps))),
                        paragraphs=((0, len(text)),), sentences=tuple(sentences), tokens=tuple(tokens),
                        annotations={aset.name: aset})
    return Imported(document, where + (f" ({doc.name})" if doc.name else ""), segmented=True)


def _span(text: str, n: int, mention: tuple[int, int, str, int], path: str, options: ImportOptions,
          report: ImportReport | None) -> Span | None:
    start, end, label, line = mention
    if label in options.get("drop_label", ()):
        if report is not None:
            report.dropped.append(f"{path}:{line}: label {label!r} is dropped (--drop-label)")
        return None
    try:
        mapped = options.label_map.span_label(label, options.schema)
    except KeyError:
        raise InputError(f"label {label!r} is neither in the label map nor in the schema", path=path, line=line,
                         value=label, allowed=options.schema.entity_names(),
                         hint="map it with --label-map (a null value drops it)") from None
    if mapped is None:
        if report is not None:
            report.dropped.append(f"{path}:{line}: label {label!r} is mapped to null")
        return None
    layer, label = mapped
    if label not in options.schema.span_labels(layer):
        raise InputError(f"label {label!r} (after mapping) is not a {layer} label of the schema", path=path, line=line,
                         value=label, allowed=options.schema.span_labels(layer), hint="fix the --label-map entry")
    return Span(f"T{n}", start, end, text[start:end], label, layer, options.provenance(f"{path}:{line}"))


def read_conll(path: str | Path, options: ImportOptions, report: ImportReport | None = None) -> Iterator[Imported]:
    """Every document of one CoNLL/IOB file, with its mentions as one annotation set."""
    path = Path(path)
    raw = path.read_bytes()
    text = decode(raw, path)
    sha = hashlib.sha256(raw).hexdigest()
    conllu = options.format == "conllu"
    group_by = options.get("group_by", "docstart")
    if group_by not in GROUPS:
        raise InputError(f"--group-by {group_by!r} is not known", value=group_by, allowed=GROUPS)
    columns = _Columns(options, conllu, str(path))
    for doc in _documents(_sentences(text.lstrip("\ufeff").splitlines(), str(path), columns), group_by):
        item = guarded(f"{path}:{doc.line}", lambda: _build(doc, str(path), sha, options, report), options, report)
        if item is not None:
            yield item


def conll_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus every CoNLL-like file below named folders."""
    return find_files(paths, SUFFIXES)


def read_paths(paths: Iterable[str | Path], options: ImportOptions,
               report: ImportReport | None = None) -> Iterator[Imported]:
    for path in conll_files(paths):
        yield from read_conll(path, options, report)


# --- BIO rendering and writing ------------------------------------------------------------------


def to_bio(doc: Document, set_name: str, layer: str = "entities") -> list[list[tuple[str, str]]]:
    """Per sentence, ``(token text, IOB2 tag)`` for the spans of one layer of one set (:mod:`spanbank.iob2`).

    A token is tagged when it overlaps a span; the first such token gets ``B-``, and so does the
    first token of a sentence that starts inside a span.  Where spans nest or overlap, the earlier
    (then longer) span wins and the other is left out - BIO cannot show both.  Uses the document's
    stored tokens and sentences (one sentence when it has none).
    """
    tokens = np.array(doc.tokens, np.int64).reshape(-1, 2)
    spans = sorted(doc.annotation_set(set_name).spans_of(layer), key=lambda s: (s.start, -s.end))
    labels = sorted({s.label for s in spans})
    first, last = iob2.token_range(tokens[:, 0], tokens[:, 1], np.array([s.start for s in spans], np.int64),
                                   np.array([s.end for s in spans], np.int64))
    tags, _ = iob2.encode(len(tokens), first, last, np.array([labels.index(s.label) for s in spans], np.int64))
    sentences = list(doc.sentences) or [(0, len(doc.text))]
    bounds = [(int(lo), int(hi)) for lo, hi in zip(np.searchsorted(tokens[:, 0], [s for s, _ in sentences], "left"),
                                                   np.searchsorted(tokens[:, 0], [e for _, e in sentences], "left"))
              if hi > lo]
    names = iob2.tag_names(labels)
    tags = iob2.restart(tags, np.array([lo for lo, _ in bounds], np.int64))
    return [[(doc.text[a:b], names[tags[i]]) for i, (a, b) in zip(range(lo, hi), doc.tokens[lo:hi])] for lo, hi in bounds]


def write_conll(docs: Iterable[Document], set_name: str, fh: IO[str], layer: str = "entities") -> int:
    """Write documents as ``-DOCSTART-``-separated ``TOKEN<TAB>TAG`` sentences; returns the document count."""
    n = 0
    for doc in docs:
        fh.write(f"{DOCSTART}\tO\n\n")
        for sentence in to_bio(doc, set_name, layer):
            fh.writelines(f"{token}\t{tag}\n" for token, tag in sentence)
            fh.write("\n")
        n += 1
    return n


def write(items: Iterable[tuple[Document, str]], out: Path) -> tuple[list[Path], list[str]]:
    """Each (document, set name) as IOB2 entities, all in ``out/corpus.conll``."""
    path = out / "corpus.conll"
    with path.open("w", encoding="utf-8") as fh:
        for doc, set_name in items:
            write_conll([doc], set_name, fh)
    return [path], []
