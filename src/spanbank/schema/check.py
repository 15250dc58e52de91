"""Check a parsed schema: every rule is a row of :data:`RULES`, every problem names its YAML line.

A row says *what* it applies to (a kind of node: ``schema``, ``label``, ``role``, ...), which
*key* of that node it reads (None: the node itself), the *check* (a predicate of the value and
the :class:`Context`), the *message* (``str.format`` fields: ``value``, ``kind``, and what the
walker passes for that kind: ``name``, ``layer``, ``n``, ``event``, ``role``, ``surface``,
``entities``) and the *fix* (shown in parentheses).  A row with ``unique_in`` is a uniqueness rule:
the value must not repeat within that scope (its check only selects the values that count; the
message may name the first occurrence as ``first[...]``).  The walker below visits the nodes in file order and applies the rows for each
kind; it also checks each node's shape (mapping or list, known keys, no key written twice) from
:data:`KEYS`.  A new rule is one row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import Problem
from ..model import ATTRIBUTION_ROLES
from .source import display, line_of

TOP_KEYS = ("name", "version", "description", "entity_types", "event_types", "attribution", "gazetteer", "conventions")
REQUIRED_TOP = ("name", "version", "entity_types", "event_types", "attribution")
LABEL_KEYS = ("name", "definition", "examples", "color", "shortcut")
EVENT_KEYS = LABEL_KEYS + ("roles",)
ROLE_KEYS = ("name", "entity_types")
ATTRIBUTION_KEYS = ("labels", "links", "nesting")
LINK_NAMES = ("SOURCE", "CONTENT")
NESTING = ("allowed", "forbidden")
KEYS = {"schema": TOP_KEYS, "event": EVENT_KEYS, "role": ROLE_KEYS, "attribution": ATTRIBUTION_KEYS}  # else LABEL_KEYS

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
SHORTCUT = re.compile(r"^[a-z0-9]$")

MISSING = object()  # the value of a key the node does not have


@dataclass
class Context:
    """What the rules may consult besides the value: the entity types defined so far."""

    entity_names: list[str] = field(default_factory=list)


Check = Callable[[Any, Context], bool]


@dataclass(frozen=True)
class Rule:
    """One row of the check table (see the module docstring)."""

    what: str
    key: str | None
    check: Check
    message: str
    fix: str = ""
    unique_in: str | None = None

    def text(self, **fields: Any) -> str:
        message = self.message.format(**fields)
        return f"{message} ({self.fix.format(**fields)})" if self.fix else message


def _text(value: Any, _ctx: Context = None) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _matches(pattern: re.Pattern) -> Check:
    return lambda value, _ctx: isinstance(value, str) and bool(pattern.match(value))


def _optional(check: Check, *absent: Any) -> Check:
    """``check``, passing when the key is missing (or holds one of ``absent``)."""
    return lambda value, ctx: value is MISSING or any(value is a for a in absent) or check(value, ctx)


def _one_of(allowed: Sequence[str]) -> Check:
    return lambda value, _ctx: value in allowed


def _present(value: Any, _ctx: Context) -> bool:
    return value is not MISSING


def _entity_type(value: Any, ctx: Context) -> bool:
    return value in ctx.entity_names


def _any(value: Any, _ctx: Context) -> bool:
    return True


def _is_str(value: Any, _ctx: Context) -> bool:
    return isinstance(value, str)


RULES: tuple[Rule, ...] = (
    # what, key, check, message, fix
    Rule("schema", "name", _optional(_text), "schema name must be a non-empty string, not {kind}"),
    Rule("schema", "version", _optional(_matches(SEMVER)), "version {value!r} is not semver MAJOR.MINOR.PATCH",
         'write it like "1.0.0"'),
    Rule("schema", "description", _optional(_is_str), "description must be text, not {kind}"),
    Rule("convention", None, _text, "convention {n} must be a non-empty string, not {kind}"),
    Rule("label", "definition", _text, "label {name} has no definition", "add one sentence saying what to mark"),
    Rule("example", None, _text, "example {n} of {name} must be a non-empty string, not {kind}"),
    Rule("label", "color", _optional(_matches(COLOR)), "color {value!r} of {name} is not #rrggbb",
         'write it quoted, like "#1f77b4"'),
    Rule("label", "shortcut", _optional(_matches(SHORTCUT), None),
         "shortcut {value!r} of {name} is not a single key a-z or 0-9", 'quote digits: "4"'),
    Rule("span label", "name", _any, "label {value!r} ({layer}) is already used by {first[layer]}:{value} "
         "at line {first[line]}", "rename one", unique_in="labels"),
    Rule("span label", "shortcut", _is_str, "shortcut {value!r} of {name} is already used by {first[name]}",
         "use another key", unique_in="shortcuts"),
    Rule("attribution", "nesting", _optional(_one_of(NESTING)),
         f"attribution nesting {{value!r}} is not one of {', '.join(NESTING)}"),
    Rule("attribution label", "name", _one_of(ATTRIBUTION_ROLES),
         f"attribution label {{value!r}} is not one of {', '.join(ATTRIBUTION_ROLES)}"),
    Rule("attribution link", "name", _one_of(LINK_NAMES),
         f"attribution link {{value!r}} is not one of {', '.join(LINK_NAMES)}"),
    Rule("attribution link", "name", _any, "label {value!r} ({layer}) is already used by {first[layer]}:{value} "
         "at line {first[line]}", "rename one", unique_in="links"),
    Rule("event", "roles", _present, "event type {name} has no roles", "add roles: [] when it takes no arguments"),
    Rule("role", "name", _any, "role {value!r} appears twice in {event}", "keep one", unique_in="roles of {event}"),
    Rule("role", "name", lambda value, _ctx: value not in LINK_NAMES,
         "role {value!r} of {event} clashes with the attribution link {value}", "rename the role"),
    Rule("role", "entity_types", _present, "role {name} of {event} has no entity_types", "use [] for a value role"),
    Rule("role type", None, _entity_type, "role {role} of {event} admits {value!r}, which is not an entity type",
         "allowed: {entities}"),
    Rule("gazetteer surface", None, _text, "gazetteer entry {value!r} must be a non-empty string",
         'quote it: "{value}"'),
    Rule("gazetteer type", None, _entity_type, "gazetteer type {value!r} of {surface!r} is not an entity type",
         "allowed: {entities}"),
)

_BY_WHAT: dict[str, list[Rule]] = {}
for _rule in RULES:
    _BY_WHAT.setdefault(_rule.what, []).append(_rule)


def _kind(value: Any) -> str:
    return "empty" if value is None or value is MISSING else f"{type(value).__name__} {value!r}"


def _get(container: Any, key: Any) -> Any:
    if isinstance(container, dict):
        return container.get(key, MISSING)
    return container[key] if isinstance(key, int) and 0 <= key < len(container) else MISSING


class _Walker:
    """Visits one parsed schema in file order and applies :data:`RULES` to each node."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.ctx = Context()
        self.seen: dict[str, dict[Any, dict]] = {}

    def add(self, container: Any, key: Any, message: str) -> None:
        self.problems.append(Problem(self.path, line_of(container, key), message))

    def apply(self, what: str, container: Any, key: Any = None, value: Any = MISSING, **fields: Any) -> None:
        """Apply the rows for ``what`` to ``container[rule.key]``, else to ``container[key]`` (or ``value``)."""
        for rule in _BY_WHAT.get(what, ()):
            where = rule.key if rule.key is not None else key
            got = value if rule.key is None and value is not MISSING else _get(container, where)
            place = (container, where)
            if rule.unique_in is not None:
                self._unique(rule, got, place, fields)
            elif not rule.check(got, self.ctx):
                self.add(*place, rule.text(value=got, kind=_kind(got), **fields))

    def _unique(self, rule: Rule, value: Any, place: tuple, fields: dict) -> None:
        if value is MISSING or not rule.check(value, self.ctx):
            return
        seen = self.seen.setdefault(rule.unique_in.format(**fields), {})
        if value in seen:
            self.add(*place, rule.text(value=value, first=seen[value], **fields))
        else:
            seen[value] = {**fields, "line": line_of(*place)}

    def shape(self, mapping: dict, allowed: Sequence[str], what: str) -> None:
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


def check_schema(data: Any, path: str | Path = "<schema>") -> list[Problem]:
    """Every problem in the parsed schema ``data`` (as read from ``path``), with YAML lines when known."""
    walk = _Walker(display(path))
    if not isinstance(data, dict):
        return [Problem(walk.path, line_of(data, None), f"the schema must be a mapping, not {_kind(data)}")]
    walk.shape(data, TOP_KEYS, "the schema")
    for key in REQUIRED_TOP:
        if key not in data:
            walk.add(data, None, f"missing required key {key!r}")
    walk.apply("schema", data)
    for i, _item in enumerate(walk.sequence(data, "conventions", "conventions")):
        walk.apply("convention", data["conventions"], i, n=i + 1)
    for lab in _labels(walk, data, "entity_types", "entity", "entities"):
        if lab["name"] not in walk.ctx.entity_names:
            walk.ctx.entity_names.append(lab["name"])
    for ev in _labels(walk, data, "event_types", "event", "events"):
        _roles(walk, ev)
    _attribution(walk, data)
    _gazetteer(walk, data)
    return sorted(walk.problems, key=lambda p: p.line or 0)


def _labels(walk: _Walker, parent: dict, key: str, what: str, layer: str) -> list[dict]:
    """Check the labels of ``parent[key]``; return those with a usable name."""
    if key not in parent:
        return []
    title = {"entities": "entity_types", "events": "event_types"}.get(layer, f"attribution {key}")
    items = walk.sequence(parent, key, title)
    out = []
    for i in range(len(items)):
        lab = walk.mapping(items, i, f"item {i + 1} of {title}")
        if lab is None:
            continue
        name = lab.get("name")
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            walk.add(lab, "name" if "name" in lab else None,
                     f"item {i + 1} of {title} needs a name without surrounding spaces, not {_kind(name)}")
            continue
        walk.shape(lab, KEYS.get(what, LABEL_KEYS), f"label {name}")
        for kind in ("label", "span label", what) if layer != "links" else ("label", what):
            walk.apply(kind, lab, name=name, layer=layer)
        for j, _example in enumerate(walk.sequence(lab, "examples", f"examples of {name}")):
            walk.apply("example", lab["examples"], j, n=j + 1, name=name)
        out.append(lab)
    return out


def _roles(walk: _Walker, ev: dict) -> None:
    event = ev["name"]
    roles = walk.sequence(ev, "roles", f"roles of {event}")
    for i in range(len(roles)):
        role = walk.mapping(roles, i, f"role {i + 1} of {event}")
        if role is None:
            continue
        name = role.get("name")
        if not isinstance(name, str) or not name.strip():
            walk.add(role, "name" if "name" in role else None, f"role {i + 1} of {event} needs a name, not {_kind(name)}")
            continue
        walk.shape(role, ROLE_KEYS, f"role {name} of {event}")
        walk.apply("role", role, name=name, event=event)
        types = walk.sequence(role, "entity_types", f"entity_types of role {name} of {event}")
        for j in range(len(types)):
            walk.apply("role type", types, j, role=name, event=event, entities=", ".join(walk.ctx.entity_names))


def _attribution(walk: _Walker, data: dict) -> None:
    attribution = walk.mapping(data, "attribution", "attribution") if "attribution" in data else None
    if attribution is None:
        return
    walk.shape(attribution, ATTRIBUTION_KEYS, "attribution")
    for key, what, required in (("labels", "attribution label", ATTRIBUTION_ROLES), ("links", "attribution link", LINK_NAMES)):
        names = [lab["name"] for lab in _labels(walk, attribution, key, what, "attribution" if key == "labels" else "links")]
        missing = [n for n in required if n not in names]
        if missing and key in attribution:
            walk.add(attribution, key, f"attribution {key} are missing {', '.join(missing)} (required: {', '.join(required)})")
    walk.apply("attribution", attribution)


def _gazetteer(walk: _Walker, data: dict) -> None:
    if "gazetteer" not in data or data["gazetteer"] is None:
        return
    gazetteer = walk.mapping(data, "gazetteer", "gazetteer")
    if gazetteer is None:
        return
    walk.shape(gazetteer, list(gazetteer), "gazetteer")
    entities = ", ".join(walk.ctx.entity_names)
    for surface in gazetteer:
        walk.apply("gazetteer surface", gazetteer, surface, value=surface)
        walk.apply("gazetteer type", gazetteer, surface, surface=surface, entities=entities)
