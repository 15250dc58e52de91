"""brat ``.ann`` reading: one ``.ann`` against its ``.txt`` into one annotation set (the line rules are in :mod:`.brat`)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Iterator

from ..errors import InputError
from ..model import AnnotationSet, Argument, Attribution, Document, Event, Origin, Span, document_id
from ..text import decode, normalize
from .importing import ImportOptions, Imported, ImportReport

ID = re.compile(r"^[TERAMN*#][0-9A-Za-z_-]*$")
SPAN_ID, EVENT_ID, REL_ID = re.compile(r"^T\d+$"), re.compile(r"^E\d+$"), re.compile(r"^R\d+$")
PARENT_ROLE = "Parent"
ROLE_SUFFIX = re.compile(r"\d+$")


# --- offsets ------------------------------------------------------------------------------------


class OffsetMap:
    """Code-point offsets in the raw ``.txt`` -> offsets in the normalized text ingest would store."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        full, self.steps = normalize(raw)
        self.lead = len(full) - len(full.lstrip())
        self.text = full.strip()
        if self.text != full:
            self.steps.append("strip-outer-whitespace")
        self._full = full
        self._identity = full == raw
        self._cache: dict[int, int | None] = {}

    def convert(self, k: int) -> int | None:
        """The normalized offset of raw offset ``k``; ``None`` when ``k`` falls inside a sequence normalization merges.

        Fast when normalization changed nothing but outer whitespace; otherwise one prefix normalization
        per distinct boundary (cached).
        """
        if self._identity:
            return min(max(k - self.lead, 0), len(self.text))
        if k not in self._cache:
            prefix = normalize(self.raw[:k])[0]
            ok = self._full.startswith(prefix)
            self._cache[k] = min(max(len(prefix) - self.lead, 0), len(self.text)) if ok else None
        return self._cache[k]


# --- reading ------------------------------------------------------------------------------------


@dataclass
class _Line:
    no: int
    id: str
    fields: list[str]


class _Reader:
    """Reads one ``.ann`` against its ``.txt``; every error names ``file:line``, the value and the fix."""

    def __init__(self, ann_path: Path, offsets: OffsetMap, options: ImportOptions, report: ImportReport | None):
        self.path, self.offsets, self.options, self.report = str(ann_path), offsets, options, report
        self.spans: dict[str, Span] = {}
        self.dropped_spans: set[str] = set()
        self.attribution_triggers: set[str] = set()
        self.lines: dict[str, _Line] = {}

    def error(self, line: _Line, message: str, **kw) -> InputError:
        return InputError(message, path=self.path, line=line.no, **kw)

    def drop(self, line: _Line, why: str) -> None:
        if self.report is not None:
            self.report.dropped.append(f"{self.path}:{line.no}: {line.id}: {why}")

    def prov(self, line: _Line):
        return self.options.provenance(f"{self.path}:{line.no}")

    def read(self, fh: IO[str]) -> AnnotationSet:
        parsed = list(self._lines(fh))
        att_type = self.options.get("attribution_trigger")
        triggers = {self._trigger_id(ln): self._event_type(ln) == att_type for ln in parsed if ln.id[0] == "E"}
        for ln in parsed:
            if ln.id[0] == "T":
                self._span(ln, "attribution" if triggers.get(ln.id) else ln.id in triggers)
        events, attributions = [], []
        for ln in parsed:
            if ln.id[0] == "E":
                item = self._event(ln)
                if isinstance(item, Event):
                    events.append(item)
                elif isinstance(item, Attribution):
                    attributions.append(item)
        attributions += self._relation_attributions([ln for ln in parsed if ln.id[0] == "R"])
        for ln in parsed:
            if ln.id[0] in "AMN*":
                self._check_refs(ln)
        self._check_parents(attributions)
        return AnnotationSet(self.options.set_name, tuple(self.spans.values()), tuple(events), tuple(attributions))

    def _lines(self, fh: IO[str]) -> Iterator[_Line]:
        for no, raw in enumerate(fh, start=1):
            text = raw.rstrip("\r\n")
            if not text.strip() or text.startswith("#"):
                continue
            fields = text.split("\t", 2)
            line = _Line(no, fields[0].strip(), fields[1:])
            if not ID.match(line.id) or not line.fields:
                raise self.error(line, f"not a brat annotation line: {text[:60]!r}",
                                 hint="lines are ID<TAB>annotation, with IDs T1, E1, R1, A1, M1, N1, * or #")
            if line.id != "*" and line.id in self.lines:
                raise self.error(line, f"id {line.id} is used twice (first on line {self.lines[line.id].no})",
                                 value=line.id, hint="give every annotation its own id")
            self.lines[line.id] = line
            yield line

    def _trigger_id(self, line: _Line) -> str:
        head = line.fields[0].split()[0] if line.fields[0].split() else ""
        return head.rpartition(":")[2]

    def _event_type(self, line: _Line) -> str:
        head = line.fields[0].split()[0] if line.fields[0].split() else ""
        return head.rpartition(":")[0]

    # T lines
    def _span(self, line: _Line, is_trigger: bool) -> None:
        if len(line.fields) < 2:
            raise self.error(line, "span line needs LABEL START END<TAB>text", hint="e.g. T1\tPER 0 5\tGhani")
        label, frags = self._label_and_fragments(line)
        if label in self.options.get("drop_label", ()):
            self.dropped_spans.add(line.id)
            self.drop(line, f"label {label!r} is dropped (--drop-label)")
            return
        if is_trigger == "attribution":
            self.attribution_triggers.add(line.id)
            return
        pieces = self._join_fragments(line, frags)
        try:
            mapped = self.options.label_map.span_label(label, self.options.schema)
        except KeyError:
            allowed = [n for layer in ("entities", "events", "attribution")
                       for n in self.options.schema.span_labels(layer)]
            raise self.error(line, f"label {label!r} is neither in the label map nor in the schema", value=label,
                             allowed=allowed, hint="map it with --label-map (a null value drops it)") from None
        if mapped is None:
            self.dropped_spans.add(line.id)
            self.drop(line, f"label {label!r} is mapped to null")
            return
        layer, label = mapped
        if is_trigger and layer == "entities":
            raise self.error(line, f"{line.id} is an event trigger but its label {label!r} is an entity type",
                             value=label, allowed=self.options.schema.event_names())
        self._check_label(line, layer, label)
        for n, (start, end) in enumerate(pieces, start=1):
            nstart, nend = self._convert(line, start), self._convert(line, end)
            if nstart >= nend:
                raise self.error(line, f"span [{start}, {end}) lies in whitespace that normalization strips",
                                 value=line.fields[1], hint="drop the span or fix its offsets")
            sid = line.id if n == 1 else f"{line.id}-{n}"
            self.spans[sid] = Span(sid, nstart, nend, self.offsets.text[nstart:nend], label, layer, self.prov(line))

    def _label_and_fragments(self, line: _Line) -> tuple[str, list[tuple[int, int]]]:
        label, _, rest = line.fields[0].strip().partition(" ")
        frags = []
        for part in rest.split(";"):
            bits = part.split()
            if len(bits) != 2 or not all(b.isdigit() for b in bits):
                raise self.error(line, f"offsets {part.strip()!r} are not 'START END'", value=part.strip(),
                                 hint="write e.g. T1\tPER 0 5\tGhani")
            frags.append((int(bits[0]), int(bits[1])))
        raw, ann_text = self.offsets.raw, line.fields[1]
        for s, e in frags:
            if not 0 <= s < e <= len(raw):
                raise self.error(line, f"span [{s}, {e}) does not fit the text (length {len(raw)}, need 0 <= start < end)",
                                 value=f"{s} {e}", hint="fix the offsets")
        found = " ".join(raw[s:e] for s, e in frags)
        if found != ann_text:
            raise self.error(line, f"offsets [{frags[0][0]}, {frags[-1][1]}) cover {found!r} in the .txt, "
                                   f"but the .ann says {ann_text!r}", value=ann_text,
                             hint="brat offsets are code points into the .txt as saved; fix the offsets or the text")
        return label, frags

    def _join_fragments(self, line: _Line, frags: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The spans a (possibly discontinuous) annotation becomes: whitespace gaps are joined, others per policy."""
        policy = self.options.get("discontinuous", "error")
        pieces = [list(f) for f in sorted(frags)[:1]]
        for s2, e2 in sorted(frags)[1:]:
            e1 = pieces[-1][1]
            gap = self.offsets.raw[e1:s2]
            if not gap.strip() or policy == "outer":
                pieces[-1][1] = max(e1, e2)
            elif policy == "parts":
                pieces.append([s2, e2])
            else:
                raise self.error(line, f"discontinuous span: the gap [{e1}, {s2}) holds {gap!r}", value=line.fields[0],
                                 hint="split it into separate spans, or import with --discontinuous outer|parts")
        return [(a, b) for a, b in pieces]

    def _convert(self, line: _Line, k: int) -> int:
        out = self.offsets.convert(k)
        if out is None:
            raise self.error(line, f"offset {k} splits a character sequence that Unicode NFC normalization joins",
                             value=k, hint="move the boundary to the start or end of the combined character")
        return out

    def _check_label(self, line: _Line, layer: str, label: str) -> None:
        allowed = self.options.schema.span_labels(layer)
        if label not in allowed:
            raise self.error(line, f"label {label!r} (after mapping) is not a {layer} label of the schema",
                             value=label, allowed=allowed, hint="fix the --label-map entry")

    # E lines
    def _args(self, line: _Line) -> tuple[str, str, list[tuple[str, str]]]:
        parts = line.fields[0].split()
        etype, _, trigger = parts[0].rpartition(":")
        args = []
        for part in parts[1:]:
            role, sep, ref = part.rpartition(":")
            if not sep or not role or not ref:
                raise self.error(line, f"event argument {part!r} is not ROLE:ID", value=part,
                                 hint="write e.g. E1\tConflict:Attack:T3 Attacker:T1")
            args.append((ROLE_SUFFIX.sub("", role), ref))
        if not etype or trigger not in self.lines:
            raise self.error(line, f"event needs TYPE:TRIGGER with a known trigger id, got {parts[0]!r}", value=parts[0],
                             hint="write e.g. E1\tConflict:Attack:T3 Attacker:T1")
        return etype, trigger, args

    def _ref(self, line: _Line, ref: str, kinds: str = "T") -> str | None:
        """A referenced span id; None when the span was dropped by the label map."""
        if ref not in self.lines or ref[0] not in kinds:
            raise self.error(line, f"{ref!r} is not a known id", value=ref, hint="define the span before linking it")
        return None if ref in self.dropped_spans else ref

    def _event(self, line: _Line) -> Event | Attribution | None:
        etype, trigger, args = self._args(line)
        if trigger in self.attribution_triggers:
            return self._event_attribution(line, args)
        if trigger in self.dropped_spans:
            self.drop(line, f"its trigger {trigger} was dropped")
            return None
        span = self.spans[trigger]
        if span.layer == "attribution":
            return self._attribution(line, span, args)
        if self.options.label_map.events.get(etype, etype) != span.label:
            raise self.error(line, f"event type {etype!r} differs from its trigger {trigger}'s label {span.label!r}",
                             value=etype, hint="give the trigger span the event type as its label")
        etype_def = self.options.schema.event_type(span.label)
        arguments = []
        for role, ref in args:
            target = self._ref(line, ref)
            role = self.options.label_map.role(role, span.label)
            if target is None or role is None:
                self.drop(line, f"argument {role}:{ref} dropped by the label map")
                continue
            if etype_def.role(role) is None:
                raise self.error(line, f"role {role!r} is not a role of {span.label}", value=role,
                                 allowed=[r.name for r in etype_def.roles], hint="map it under roles: in --label-map")
            arguments.append(Argument(role, target, self.prov(line)))
        return Event(line.id, trigger, span.label, tuple(arguments), self.prov(line))

    def _attribution(self, line: _Line, cue: Span, args: list[tuple[str, str]]) -> Attribution:
        if cue.label != "CUE":
            raise self.error(line, f"an attribution's trigger must be a CUE span, {cue.id} is {cue.label}", value=cue.label)
        slots: dict[str, str | None] = {}
        for role, ref in args:
            name = PARENT_ROLE if role == PARENT_ROLE else self.options.label_map.role(role)
            if name not in ("SOURCE", "CONTENT", PARENT_ROLE) or name in slots:
                raise self.error(line, f"attribution argument {role}:{ref} is not one SOURCE, one CONTENT and at most "
                                       "one Parent", value=role, allowed=["SOURCE", "CONTENT", PARENT_ROLE])
            slots[name] = self._ref(line, ref, "E") if name == PARENT_ROLE else self._ref(line, ref)
        if slots.get("CONTENT") is None:
            raise self.error(line, "attribution has no CONTENT", hint="add CONTENT:T<n> (a CONTENT span)")
        return Attribution(line.id, cue.id, slots.get("SOURCE"), slots["CONTENT"], self.prov(line), slots.get(PARENT_ROLE))

    def _event_attribution(self, line: _Line, args: list[tuple[str, str]]) -> Attribution | None:
        """``E<TAB>Attribution:T9 Source:T4 Cue:T5 Content:T6``: the arguments are the parts."""
        slots: dict[str, str] = {}
        for role, ref in args:
            name = self.options.label_map.attribution_role(role)
            target = self._ref(line, ref)
            if name is None or target is None:
                self.drop(line, f"argument {role}:{ref} dropped by the label map")
                continue
            if name not in ("SOURCE", "CUE", "CONTENT") or name in slots:
                raise self.error(line, f"attribution argument {role}:{ref} is not one Source, one Cue and one Content",
                                 value=role, allowed=sorted(self.options.label_map.attribution_roles) or
                                 ["Source", "Cue", "Content"], hint="map the roles under attribution_roles: in --map-file")
            slots[name] = self._as_label(target, name)
        if "CUE" not in slots or "CONTENT" not in slots:
            self.drop(line, "attribution without a Cue and a Content is not kept")
            return None
        return Attribution(line.id, slots["CUE"], slots.get("SOURCE"), slots["CONTENT"], self.prov(line))

    def _as_label(self, sid: str, label: str) -> str:
        """``sid``, or a copy of its span labelled ``label`` (attribution layer) when it carries another label."""
        span = self.spans[sid]
        if span.layer == "attribution" and span.label == label:
            return sid
        copy_id = f"{sid}-{label.lower()}"
        if copy_id not in self.spans:
            self.spans[copy_id] = replace(span, id=copy_id, label=label, layer="attribution")
        return copy_id

    # R lines
    def _relation_attributions(self, lines: list[_Line]) -> list[Attribution]:
        by_cue: dict[str, dict[str, object]] = {}
        for line in lines:
            parts = line.fields[0].split()
            args = dict(p.split(":", 1) for p in parts[1:] if ":" in p)
            rtype = self.options.label_map.role(parts[0]) if parts else None
            if rtype not in ("SOURCE", "CONTENT") or set(args) != {"Arg1", "Arg2"}:
                self.drop(line, f"relation {parts[0] if parts else ''!r} is not an attribution link (SOURCE/CONTENT)")
                continue
            cue, target = self._ref(line, args["Arg1"]), self._ref(line, args["Arg2"])
            if cue is None or target is None:
                self.drop(line, "links a span dropped by the label map")
                continue
            if self.spans[cue].label != "CUE":
                raise self.error(line, f"Arg1 of a {rtype} link must be a CUE span, {cue} is {self.spans[cue].label}",
                                 value=cue)
            slot = by_cue.setdefault(cue, {"line": line})
            if rtype in slot:
                raise self.error(line, f"cue {cue} has a second {rtype} link", value=line.id,
                                 hint="one attribution has one source and one content")
            slot[rtype] = target
        out = []
        for cue, slot in by_cue.items():
            line = slot["line"]
            if "CONTENT" not in slot:
                raise self.error(line, f"cue {cue} has no CONTENT link", hint=f"add R<n>\tCONTENT Arg1:{cue} Arg2:T<n>")
            out.append(Attribution(f"A{cue}", cue, slot.get("SOURCE"), slot["CONTENT"], self.prov(line)))
        return out

    def _check_refs(self, line: _Line) -> None:
        refs = line.fields[0].split()[1:]
        target = refs[0] if refs else ""
        if line.id[0] in "AM" and target not in self.lines:
            raise self.error(line, f"attribute points at unknown id {target!r}", value=target)
        self.drop(line, "attributes, normalizations and equivalences are not kept")

    def _check_parents(self, attributions: list[Attribution]) -> None:
        known = {a.id for a in attributions}
        for a in attributions:
            if a.parent is not None and a.parent not in known:
                raise self.error(self.lines[a.id], f"Parent {a.parent} is not an attribution", value=a.parent)


def read_brat(txt_path: str | Path, options: ImportOptions, report: ImportReport | None = None,
              ann_path: str | Path | None = None) -> Imported:
    """One brat document: the normalized ``.txt`` text with the ``.ann`` annotations as one set."""
    txt_path = Path(txt_path)
    ann_path = Path(ann_path) if ann_path else txt_path.with_suffix(".ann")
    for p in (txt_path, ann_path):
        if not p.is_file():
            raise InputError("brat file is missing", path=str(p), hint="a brat document is a .txt with its .ann")
    raw_bytes = txt_path.read_bytes()
    offsets = OffsetMap(decode(raw_bytes, txt_path))
    if not offsets.text:
        raise InputError("the .txt is empty", path=str(txt_path))
    ann_bytes = ann_path.read_bytes()
    ann_text = decode(ann_bytes, ann_path)
    if ann_text.startswith("\ufeff"):
        ann_text = ann_text[1:]
    aset = _Reader(ann_path, offsets, options, report).read(ann_text.split("\n"))
    origin = Origin(str(txt_path), hashlib.sha256(raw_bytes).hexdigest(), tuple(offsets.steps))
    doc = Document(id=document_id(offsets.text), text=offsets.text, origin=origin, annotations={aset.name: aset})
    return Imported(doc, str(txt_path))
