"""Render the annotation guidelines (Markdown) from a label schema.

The same text is the Doccano project's guideline page and ``project/GUIDELINES.md`` of a built
dataset; edit the schema, not the output.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

from ..model import EventType, Label, LabelSchema

OFFSET_CONVENTION = (
    "A span is the half-open interval `[start, end)` of Python code points (Unicode characters) over the "
    "stored, normalized document text, so `text[start:end]` is the span text. Doccano's UTF-16 offsets "
    "and brat's offsets are converted when importing and exporting; annotators never type offsets."
)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _label_table(labels: Iterable[Label]) -> Iterator[str]:
    yield "| Label | Key | Definition | Examples |"
    yield "|---|---|---|---|"
    for lab in labels:
        examples = "<br>".join(_cell(e) for e in lab.examples)
        yield f"| `{lab.name}` | {_cell(lab.shortcut or '')} | {_cell(lab.definition)} | {examples} |"


def _role_lines(ev: EventType) -> Iterator[str]:
    yield f"- **{ev.name}**: " + (_cell(ev.label.definition))
    for role in ev.roles:
        admitted = ", ".join(role.entity_types) if role.entity_types else "any span (a value, not an entity mention)"
        yield f"  - {role.name}: {admitted}"


def _intro(schema: LabelSchema) -> Iterator[str]:
    yield f"# Annotation guidelines: {schema.name} {schema.version}"
    yield ""
    description = schema.description
    if description:
        yield description
        yield ""
    yield (f"Generated from the label schema (sha256 `{schema.sha256 or 'unknown'}`); edit the schema, not this "
           "file. Three layers are annotated: **entities**, **events** (a trigger span plus argument links "
           "to entity spans) and **attribution** (who said what).")
    yield ""
    yield "## Offsets"
    yield ""
    yield OFFSET_CONVENTION


def _conventions(conventions: Sequence[str]) -> Iterator[str]:
    yield "## Conventions"
    yield ""
    if not conventions:
        yield "No conventions are recorded in this schema."
    for item in conventions:
        yield f"- {item}"


def _entities(schema: LabelSchema) -> Iterator[str]:
    yield "## Entities"
    yield ""
    yield "Mark each mention with its type; the mention is in [brackets] in the examples."
    yield ""
    yield from _label_table(schema.entity_types)


def _events(schema: LabelSchema) -> Iterator[str]:
    yield "## Events"
    yield ""
    yield ("Mark the trigger (the word that most clearly expresses the event, in [brackets] in the examples) "
           "with the event type, then link the trigger to each argument span with the role name. A role admits "
           "only the span labels listed (value roles such as Crime, Sentence and Money take value spans: CRIME, "
           "SENTENCE, MONEY); a role with no labels listed (such as Position, a job title) may take any span.")
    yield ""
    yield from _label_table(ev.label for ev in schema.event_types)
    yield ""
    yield "### Argument roles"
    yield ""
    for ev in schema.event_types:
        yield from _role_lines(ev)


def _attribution(schema: LabelSchema) -> Iterator[str]:
    yield "## Attribution"
    yield ""
    yield ("An attribution says who said, wrote or believes what. Mark the **CUE** (the reporting words: "
           "\"said\", \"reported\", \"according to\"), the **SOURCE** (the mention of who it comes from, when "
           "the text names one) and the **CONTENT** (the whole attributed stretch, without cue and source). "
           "Then link the CUE to its SOURCE and to its CONTENT:")
    yield ""
    for link in schema.attribution_links:
        yield f"- link `{link.name}`: {_cell(link.definition)}"
    yield ""
    nesting = schema.nesting
    if nesting == "allowed":
        yield ("Attributions nest: when an attribution sits inside another's CONTENT (\"officials told media "
               "..., Al Arabiya reported\"), annotate both; the inner one records the outer one as its parent.")
    else:
        yield "Attributions do not nest in this schema: annotate only the outermost attribution."
    yield ""
    yield from _label_table(schema.attribution_labels)


def _gazetteer(schema: LabelSchema) -> Iterator[str]:
    yield "## Gazetteer"
    yield ""
    if not schema.gazetteer:
        yield "The schema has no gazetteer."
        return
    yield "The pre-annotator labels these exact strings wherever they occur; correct it where the context disagrees."
    yield ""
    yield "| Surface | Type |"
    yield "|---|---|"
    for surface, etype in schema.gazetteer.items():
        yield f"| {_cell(surface)} | `{etype}` |"


def render_guidelines(schema: LabelSchema, conventions: Sequence[str] | None = None) -> str:
    """The Markdown annotation guidelines for ``schema``.

    ``conventions`` defaults to the schema's own, as read by :func:`load_schema`.
    """
    if conventions is None:
        conventions = schema.conventions
    sections = (_intro(schema), _conventions(conventions), _entities(schema), _events(schema),
                _attribution(schema), _gazetteer(schema))
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
