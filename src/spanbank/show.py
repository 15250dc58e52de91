"""A self-contained HTML view of one document: each layer's spans coloured as in the schema,
events with their arguments and attributions with source, cue, content and nesting."""

from __future__ import annotations

import html

from .model import AnnotationSet, Document, LabelSchema, Span

STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.9;color:#222}
h1{font-size:1.3rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
.text{white-space:pre-wrap} .seg{border-radius:3px;padding:1px 0}
.lab{font-size:.65rem;font-weight:600;vertical-align:super;margin-left:1px}
table{border-collapse:collapse;font-size:.9rem} td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
.meta{color:#666;font-size:.85rem}
"""


def colours(schema: LabelSchema) -> dict[str, str]:
    return {lab.name: lab.color for _, lab in schema.all_labels()}


def layer_html(text: str, spans: list[Span], colour: dict[str, str]) -> str:
    """The text split at every span boundary; each piece shaded by the innermost span covering it,
    with a stacked underline per enclosing span and the label after each span's last piece."""
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        piece = html.escape(text[a:b])
        cover = sorted((s for s in spans if s.start <= a and b <= s.end), key=lambda s: s.end - s.start)
        if not cover:
            out.append(piece)
            continue
        inner = cover[0]
        shadows = ",".join(f"0 {3 * (i + 1)}px 0 {colour.get(s.label, '#888')}" for i, s in enumerate(cover[1:]))
        title = html.escape("; ".join(f"{s.label} [{s.start},{s.end}) {s.id}" for s in cover))
        style = f"background:{colour.get(inner.label, '#888')}33;" + (f"box-shadow:{shadows};" if shadows else "")
        ends = "".join(f'<span class="lab" style="color:{colour.get(s.label, "#888")}">{html.escape(s.label)}</span>'
                       for s in cover if s.end == b)
        out.append(f'<span class="seg" style="{style}" title="{title}">{piece}</span>{ends}')
    return f'<div class="text">{"".join(out)}</div>'


def _quote(aset: AnnotationSet, span_id: str | None) -> str:
    if span_id is None:
        return "—"
    try:
        s = aset.span(span_id)
    except KeyError:
        return html.escape(f"(missing {span_id})")
    return f"“{html.escape(s.text)}” <span class=meta>[{s.start},{s.end})</span>"


def events_table(aset: AnnotationSet) -> str:
    rows = [f"<tr><td>{html.escape(e.type)}</td><td>{_quote(aset, e.trigger)}</td><td>"
            + "<br>".join(f"<b>{html.escape(a.role)}</b>: {_quote(aset, a.span)}" for a in e.arguments)
            + "</td></tr>" for e in aset.events]
    return "<table><tr><th>type</th><th>trigger</th><th>arguments</th></tr>" + "".join(rows) + "</table>" if rows else "<p>none</p>"


def attributions_table(aset: AnnotationSet) -> str:
    rows = [f"<tr><td>{html.escape(a.id)}</td><td>{_quote(aset, a.source)}</td><td>{_quote(aset, a.cue)}</td>"
            f"<td>{_quote(aset, a.content)}</td><td>{html.escape(a.parent or '—')}</td></tr>" for a in aset.attributions]
    head = "<tr><th>id</th><th>source</th><th>cue</th><th>content</th><th>nested in</th></tr>"
    return "<table>" + head + "".join(rows) + "</table>" if rows else "<p>none</p>"


def render_html(doc: Document, schema: LabelSchema, set_name: str) -> str:
    """The whole page for ``doc``'s annotation set ``set_name``."""
    aset = doc.annotation_set(set_name)
    colour = colours(schema)
    title = html.escape(doc.title or doc.id)
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title><style>{STYLE}</style></head><body>",
             f"<h1>{title}</h1><p class=meta>{html.escape(doc.id)} · {html.escape(doc.date or 'no date')} · "
             f"set <b>{html.escape(set_name)}</b> · available: {html.escape(', '.join(doc.annotations) or 'none')}</p>"]
    for layer, heading in (("entities", "Entities"), ("events", "Event triggers"), ("attribution", "Attribution")):
        spans = list(aset.spans_of(layer))
        parts.append(f"<h2>{heading} ({len(spans)})</h2>" + layer_html(doc.text, spans, colour))
        if layer == "events":
            parts.append(events_table(aset))
        if layer == "attribution":
            parts.append(attributions_table(aset))
    parts.append("</body></html>")
    return "\n".join(parts)
