"""Load, check, hash and render the label schema (``schema/spanbank.yaml``).

The schema file is data: entity types, event types with their argument roles, attribution labels
and links, a gazetteer and annotation conventions.  :func:`load_schema` reads it, runs
:func:`check_schema` (which collects every problem with its YAML line) and builds the pure
:class:`~spanbank.model.LabelSchema`.  A role whose ``entity_types`` list is empty is a *value*
role (ACE's Crime, Sentence, Money, Price, Position): any span may fill it and no entity-type
check applies.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import yaml

from spanbank.errors import Problem, SchemaError
from spanbank.model import ATTRIBUTION_ROLES, EventType, Label, LabelSchema, Role

SCHEMA_ENV = "SPANBANK_SCHEMA"
DEFAULT_SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "spanbank.yaml"

TOP_KEYS = ("name", "version", "description", "entity_types", "event_types", "attribution", "gazetteer", "conventions")
REQUIRED_TOP = ("name", "version", "entity_types", "event_types", "attribution")
LABEL_KEYS = ("name", "definition", "examples", "color", "shortcut")
EVENT_KEYS = LABEL_KEYS + ("roles",)
ROLE_KEYS = ("name", "entity_types")
ATTRIBUTION_KEYS = ("labels", "links", "nesting")
LINK_NAMES = ("SOURCE", "CONTENT")
NESTING = ("allowed", "forbidden")

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
SHORTCUT = re.compile(r"^[a-z0-9]$")

OFFSET_CONVENTION = (
    "A span is the half-open interval `[start, end)` of Python code points (Unicode characters) over the "
    "stored, normalized document text, so `text[start:end]` is the span text. Doccano's UTF-16 offsets "
    "and brat's offsets are converted when importing and exporting; annotators never type offsets."
)


# --- reading YAML with line numbers ------------------------------------------------------------


class _Map(dict):
    """A YAML mapping that remembers the line of each key (1-based) and any repeated keys."""

    line: int | None = None
    lines: dict
    repeated: list


class _Seq(list):
    """A YAML sequence that remembers the line of each item (1-based)."""

    line: int | None = None
    lines: list


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings and sequences carry line numbers."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line, out.lines, out.repeated = node.start_mark.line + 1, {}, []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool, type(None))):
            raise yaml.constructor.ConstructorError(None, None, f"unhashable key {key!r}", key_node.start_mark)
        if key in out:
            out.repeated.append((key, key_node.start_mark.line + 1))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(item, deep=True) for item in node.value)
    out.line, out.lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value]
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _display(path: str | Path) -> str:
    """The path as messages show it: relative to the working directory when it lies below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def schema_path(path: str | Path | None = None) -> Path:
    """The schema file to use: ``path``, else ``$SPANBANK_SCHEMA``, else the repository's schema."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(SCHEMA_ENV) or DEFAULT_SCHEMA)


def _read(path: Path) -> Any:
    """Parse the YAML file, turning I/O and syntax errors into a located :class:`SchemaError`."""
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"cannot read schema: {exc.strerror or exc}", path=shown,
                          hint=f"pass the schema path or set {SCHEMA_ENV}") from exc
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemaError(f"invalid YAML: {problem}", path=shown, line=mark.line + 1 if mark else None) from exc


# --- hashing -----------------------------------------------------------------------------------


def _content_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def schema_hash(path: str | Path | None = None) -> str:
    """SHA-256 of the parsed schema content: comment, whitespace and key-order edits leave it unchanged."""
    return _content_hash(_read(schema_path(path)))


# --- checking ----------------------------------------------------------------------------------


def _line(container: Any, key: Any) -> int | None:
    """The YAML line of ``container[key]`` (or of the container itself when ``key`` is None)."""
    if key is None or not hasattr(container, "lines"):
        return getattr(container, "line", None)
    if isinstance(container, list):
        return container.lines[key] if 0 <= key < len(container.lines) else container.line
    return container.lines.get(key, container.line)


class _Checker:
    """Collects problems for one schema file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def add(self, container: Any, key: Any, message: str) -> None:
        self.problems.append(Problem(self.path, _line(container, key), message))

    def keys(self, mapping: dict, allowed: Sequence[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.add(mapping, key, f"unknown key {key!r} in {what} (allowed: {', '.join(allowed)})")
        for key, line in getattr(mapping, "repeated", ()):
            self.problems.append(Problem(self.path, line, f"key {key!r} appears twice in {what} (keep one)"))

    def mapping(self, container: Any, key: Any, what: str) -> dict | None:
        value = container[key]
        if isinstance(value, dict):
            return value
        self.add(container, key, f"{what} must be a mapping, not {_kind(value)}")
        return None

    def sequence(self, container: Any, key: Any, what: str) -> list:
        value = container.get(key) if isinstance(container, dict) else container[key]
        if isinstance(value, list):
            return value
        if value is not None or (isinstance(container, dict) and key in container):
            self.add(container, key, f"{what} must be a list, not {_kind(value)}")
        return []


def _kind(value: Any) -> str:
    return "empty" if value is None else f"{type(value).__name__} {value!r}"


def check_schema(data: Any, path: str | Path = "<schema>") -> list[Problem]:
    """Every problem in the parsed schema ``data`` (as read from ``path``), with YAML lines when known."""
    check = _Checker(_display(path))
    if not isinstance(data, dict):
        return [Problem(check.path, _line(data, None), f"the schema must be a mapping, not {_kind(data)}")]
    check.keys(data, TOP_KEYS, "the schema")
    for key in REQUIRED_TOP:
        if key not in data:
            check.add(data, None, f"missing required key {key!r}")
    _check_header(check, data)
    labels = _check_layers(check, data)
    entity_names = list(dict.fromkeys(lab["name"] for layer, lab in labels if layer == "entities"))
    _check_unique(check, labels)
    _check_shortcuts(check, labels)
    _check_roles(check, data, entity_names)
    _check_gazetteer(check, data, entity_names)
    return sorted(check.problems, key=lambda p: p.line or 0)


def _check_header(check: _Checker, data: dict) -> None:
    if "name" in data and (not isinstance(data["name"], str) or not data["name"].strip()):
        check.add(data, "name", f"schema name must be a non-empty string, not {_kind(data['name'])}")
    version = data.get("version")
    if "version" in data and not (isinstance(version, str) and SEMVER.match(version)):
        check.add(data, "version", f"version {version!r} is not semver MAJOR.MINOR.PATCH (write it like \"1.0.0\")")
    if "description" in data and not isinstance(data["description"], str):
        check.add(data, "description", f"description must be text, not {_kind(data['description'])}")
    for i, item in enumerate(check.sequence(data, "conventions", "conventions")):
        if not isinstance(item, str) or not item.strip():
            check.add(data["conventions"], i, f"convention {i + 1} must be a non-empty string, not {_kind(item)}")


def _check_layers(check: _Checker, data: dict) -> list[tuple[str, dict]]:
    """Check every label; return (layer, label mapping) for the span labels that have a usable name."""
    labels: list[tuple[str, dict]] = []
    for layer, key, keys in (("entities", "entity_types", LABEL_KEYS), ("events", "event_types", EVENT_KEYS)):
        labels += [(layer, lab) for lab in _check_labels(check, data, key, keys, key)]
    attribution = check.mapping(data, "attribution", "attribution") if "attribution" in data else None
    if attribution is None:
        return labels
    check.keys(attribution, ATTRIBUTION_KEYS, "attribution")
    span_labels = _check_labels(check, attribution, "labels", LABEL_KEYS, "attribution labels")
    _check_required_names(check, attribution, "labels", span_labels, ATTRIBUTION_ROLES)
    links = _check_labels(check, attribution, "links", LABEL_KEYS, "attribution links")
    _check_required_names(check, attribution, "links", links, LINK_NAMES)
    _check_unique(check, [("links", lab) for lab in links])
    nesting = attribution.get("nesting", "allowed")
    if nesting not in NESTING:
        check.add(attribution, "nesting", f"attribution nesting {nesting!r} is not one of {', '.join(NESTING)}")
    return labels + [("attribution", lab) for lab in span_labels]


def _check_labels(check: _Checker, parent: dict, key: str, keys: Sequence[str], what: str) -> list[dict]:
    if key not in parent:
        return []
    items = check.sequence(parent, key, what)
    return [lab for i, item in enumerate(items) if (lab := _check_label(check, items, i, keys, what))]


def _check_label(check: _Checker, items: list, i: int, keys: Sequence[str], what: str) -> dict | None:
    lab = check.mapping(items, i, f"item {i + 1} of {what}")
    if lab is None:
        return None
    name = lab.get("name")
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        check.add(lab, "name" if "name" in lab else None, f"item {i + 1} of {what} needs a name without surrounding spaces, not {_kind(name)}")
        return None
    check.keys(lab, keys, f"label {name}")
    definition = lab.get("definition")
    if not isinstance(definition, str) or not definition.strip():
        check.add(lab, "definition" if "definition" in lab else None, f"label {name} has no definition (add one sentence saying what to mark)")
    for j, example in enumerate(check.sequence(lab, "examples", f"examples of {name}")):
        if not isinstance(example, str) or not example.strip():
            check.add(lab["examples"], j, f"example {j + 1} of {name} must be a non-empty string, not {_kind(example)}")
    color = lab.get("color")
    if "color" in lab and not (isinstance(color, str) and COLOR.match(color)):
        check.add(lab, "color", f"color {color!r} of {name} is not #rrggbb (write it quoted, like \"#1f77b4\")")
    shortcut = lab.get("shortcut")
    if shortcut is not None and not (isinstance(shortcut, str) and SHORTCUT.match(shortcut)):
        check.add(lab, "shortcut", f"shortcut {shortcut!r} of {name} is not a single key a-z or 0-9 (quote digits: \"4\")")
    return lab


def _check_required_names(check: _Checker, parent: dict, key: str, labels: list[dict], required: Sequence[str]) -> None:
    names = [lab["name"] for lab in labels]
    for lab in labels:
        if lab["name"] not in required:
            check.add(lab, "name", f"attribution {key[:-1]} {lab['name']!r} is not one of {', '.join(required)}")
    missing = [n for n in required if n not in names]
    if missing and key in parent:
        check.add(parent, key, f"attribution {key} are missing {', '.join(missing)} (required: {', '.join(required)})")


def _check_unique(check: _Checker, labels: list[tuple[str, dict]]) -> None:
    seen: dict[str, tuple[str, dict]] = {}
    for layer, lab in labels:
        name = lab["name"]
        if name in seen:
            first_layer, first = seen[name]
            check.add(lab, "name", f"label {name!r} ({layer}) is already used by {first_layer}:{name} "
                                   f"at line {_line(first, 'name')} (rename one)")
        else:
            seen[name] = (layer, lab)


def _check_shortcuts(check: _Checker, labels: list[tuple[str, dict]]) -> None:
    owners: dict[str, str] = {}
    for _layer, lab in labels:
        key = lab.get("shortcut")
        if not isinstance(key, str):
            continue
        if key in owners:
            check.add(lab, "shortcut", f"shortcut {key!r} of {lab['name']} is already used by {owners[key]} (use another key)")
        else:
            owners[key] = lab["name"]


def _check_roles(check: _Checker, data: dict, entity_names: list[str]) -> None:
    events = data.get("event_types") if isinstance(data.get("event_types"), list) else []
    for ev in events:
        if not isinstance(ev, dict) or not isinstance(ev.get("name"), str):
            continue
        if "roles" not in ev:
            check.add(ev, None, f"event type {ev['name']} has no roles (add roles: [] when it takes no arguments)")
        seen: set[str] = set()
        roles = check.sequence(ev, "roles", f"roles of {ev['name']}")
        for i, role in enumerate(roles):
            _check_role(check, ev["name"], roles, i, entity_names, seen)


def _check_role(check: _Checker, event: str, roles: list, i: int, entity_names: list[str], seen: set[str]) -> None:
    role = check.mapping(roles, i, f"role {i + 1} of {event}")
    if role is None:
        return
    name = role.get("name")
    if not isinstance(name, str) or not name.strip():
        check.add(role, "name" if "name" in role else None, f"role {i + 1} of {event} needs a name, not {_kind(name)}")
        return
    check.keys(role, ROLE_KEYS, f"role {name} of {event}")
    if name in seen:
        check.add(role, "name", f"role {name!r} appears twice in {event} (keep one)")
    if name in LINK_NAMES:
        check.add(role, "name", f"role {name!r} of {event} clashes with the attribution link {name} (rename the role)")
    seen.add(name)
    if "entity_types" not in role:
        check.add(role, None, f"role {name} of {event} has no entity_types (use [] for a value role)")
    types = check.sequence(role, "entity_types", f"entity_types of role {name} of {event}")
    for j, etype in enumerate(types):
        if etype not in entity_names:
            check.add(types, j, f"role {name} of {event} admits {etype!r}, which is not an entity type "
                                f"(allowed: {', '.join(entity_names)})")


def _check_gazetteer(check: _Checker, data: dict, entity_names: list[str]) -> None:
    if "gazetteer" not in data or data["gazetteer"] is None:
        return
    gazetteer = check.mapping(data, "gazetteer", "gazetteer")
    if gazetteer is None:
        return
    check.keys(gazetteer, list(gazetteer), "gazetteer")
    for surface, etype in gazetteer.items():
        if not isinstance(surface, str) or not surface.strip():
            check.add(gazetteer, surface, f"gazetteer entry {surface!r} must be a non-empty string (quote it: \"{surface}\")")
        if etype not in entity_names:
            check.add(gazetteer, surface, f"gazetteer type {etype!r} of {surface!r} is not an entity type "
                                          f"(allowed: {', '.join(entity_names)})")


# --- loading -----------------------------------------------------------------------------------


def load_schema(path: str | Path | None = None) -> LabelSchema:
    """Read, check and build the label schema; raise one :class:`SchemaError` listing every problem.

    ``path`` defaults to ``$SPANBANK_SCHEMA``, else the repository's ``schema/spanbank.yaml``.
    """
    where = schema_path(path)
    data = _read(where)
    problems = check_schema(data, where)
    if problems:
        raise _schema_error(problems, _display(where))
    return _build(data, _content_hash(data))


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


# --- comparing ---------------------------------------------------------------------------------


def _layers(schema: LabelSchema) -> dict[str, list[str]]:
    return {
        "entities": schema.entity_names(),
        "events": schema.event_names(),
        "attribution": schema.attribution_names(),
        "links": [lab.name for lab in schema.attribution_links],
        "roles": schema.role_names(),
    }


def compare_schemas(old: LabelSchema, new: LabelSchema) -> dict[str, list[str]]:
    """What changed in the label order from ``old`` to ``new``, as ``layer:label`` lists.

    ``removed``: in old, not in new; ``renamed_or_reordered``: in both at a different index (ids
    changed); ``added``: in new, not in old.  Removed or reordered labels need a major version bump;
    additions at the end need a minor one.
    """
    diff: dict[str, list[str]] = {"removed": [], "renamed_or_reordered": [], "added": []}
    new_layers = _layers(new)
    for layer, before in _layers(old).items():
        after = new_layers[layer]
        diff["removed"] += [f"{layer}:{n}" for n in before if n not in after]
        diff["renamed_or_reordered"] += [f"{layer}:{n}" for i, n in enumerate(before) if n in after and after.index(n) != i]
        diff["added"] += [f"{layer}:{n}" for n in after if n not in before]
    return diff


# --- guidelines --------------------------------------------------------------------------------


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
           "only the entity types listed; a role with no entity types takes a value (a crime, sentence, amount "
           "of money or job title) and any span may fill it.")
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
