"""Label maps (``--map-file``): foreign labels and roles -> the schema's, checked against the schema.

A map is a YAML file, or the name of a map shipped with spanbank (``schema/label-maps/<name>.yaml``,
found through :mod:`spanbank.resources`; ``gum`` or ``gum.yaml``).  A path that exists wins over a
shipped name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .. import yamlio
from ..errors import InputError
from ..model import ATTRIBUTION_ROLES, LabelSchema
from ..resources import data_path

MAP_SECTIONS = ("entities", "events", "roles", "attribution", "attribution_roles")
# PolNeAR and most brat attribution projects write Source / Cue / Content.
DEFAULT_ATTRIBUTION_MAP = {name.capitalize(): name for name in ATTRIBUTION_ROLES}


@dataclass(frozen=True)
class LabelMap:
    """Foreign label -> schema label, per section; a ``None`` value drops the label (and what hangs on it).

    ``roles`` maps argument roles for every event type; ``event_roles`` per (schema) event type, which
    wins.  ``attribution_roles`` maps the argument roles of attribution events (``Source`` -> SOURCE).
    """

    entities: Mapping[str, str | None] = field(default_factory=dict)
    events: Mapping[str, str | None] = field(default_factory=dict)
    roles: Mapping[str, str | None] = field(default_factory=dict)
    attribution: Mapping[str, str | None] = field(default_factory=dict)
    event_roles: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    attribution_roles: Mapping[str, str | None] = field(default_factory=dict)

    def span_label(self, label: str, schema: LabelSchema) -> tuple[str, str] | None:
        """(layer, schema label) for a foreign span label; ``None`` when the map drops it.

        Raises ``KeyError`` when neither the map nor the schema knows the label.
        """
        attribution = {**DEFAULT_ATTRIBUTION_MAP, **self.attribution}
        for layer, section in (("entities", self.entities), ("events", self.events), ("attribution", attribution)):
            if label in section:
                mapped = section[label]
                return None if mapped is None else (layer, mapped)
        for layer in ("entities", "events", "attribution"):
            if label in schema.span_labels(layer):
                return layer, label
        raise KeyError(label)

    def role(self, role: str, event_type: str | None = None) -> str | None:
        """The schema role of a foreign argument role (of ``event_type``, a schema event type, when given)."""
        if event_type is not None and role in self.event_roles.get(event_type, {}):
            return self.event_roles[event_type][role]
        if role in self.roles:
            return self.roles[role]
        return self.attribution_role(role) if role in ("Source", "Content") else role

    def attribution_role(self, role: str) -> str | None:
        """SOURCE / CUE / CONTENT for a foreign attribution argument role (unknown ones come back as given)."""
        if role in self.attribution_roles:
            return self.attribution_roles[role]
        return DEFAULT_ATTRIBUTION_MAP.get(role, role)


def _section(data: dict, key: str, path: Path, nested: bool = False) -> dict:
    section = data.get(key) or {}
    if not isinstance(section, dict):
        raise InputError(f"section {key!r} must be a mapping", path=str(path), value=section)
    for k, v in section.items():
        ok = isinstance(k, str) and (v is None or isinstance(v, str) or (nested and isinstance(v, dict)))
        if not ok:
            raise InputError(f"section {key!r}: {k!r}: {v!r} must map a label string to a label string (or nothing to "
                             "drop it)", path=str(path), value=k)
    return {k: (v or None) if not isinstance(v, dict) else v for k, v in section.items()}


def shipped_label_maps() -> list[str]:
    """The names of the label maps shipped with spanbank (``gum``, ...), sorted."""
    return sorted(p.stem for p in data_path("schema", "label-maps").glob("*.yaml"))


def find_label_map(name: str | Path) -> Path:
    """The label map file ``name`` means: a path that exists, else a shipped map of that name (``.yaml`` optional)."""
    path = Path(name)
    if path.exists():
        return path
    shipped = shipped_label_maps()
    stem = str(name).removesuffix(".yaml")
    if stem in shipped:
        return data_path("schema", "label-maps", f"{stem}.yaml")
    raise InputError(f"label map {str(name)!r} is neither an existing file nor a shipped label map", value=str(name),
                     allowed=shipped or None, hint="give the path of a YAML label map, or the name of a shipped one")


def load_label_map(path: str | Path | None, schema: LabelSchema | None = None) -> LabelMap:
    """Read a ``--map-file`` YAML file (a path, or a shipped map's name: :func:`find_label_map`) and check
    every target against ``schema`` (all problems at once).

    Sections: ``entities``/``events``/``attribution`` (span labels), ``roles`` (``Foreign: Role`` for
    every event type, or ``EventType: {Foreign: Role}`` per schema event type), ``attribution_roles``
    (E-line argument roles -> SOURCE / CUE / CONTENT).  An empty value (or null) drops the label.
    """
    if path is None:
        return LabelMap()
    path = find_label_map(path)
    try:
        data = yamlio.load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yamlio.YAMLError) as exc:
        raise InputError(f"cannot read the label map: {exc}", path=str(path), hint="give a YAML mapping file") from None
    if not isinstance(data, dict):
        raise InputError("a label map must be a YAML mapping", path=str(path), value=data, allowed=MAP_SECTIONS)
    unknown = [k for k in data if k not in MAP_SECTIONS]
    if unknown:
        raise InputError(f"unknown section {unknown[0]!r} in the label map", path=str(path), value=unknown[0],
                         allowed=MAP_SECTIONS)
    sections = {key: _section(data, key, path, nested=key == "roles") for key in MAP_SECTIONS}
    event_roles = {k: v for k, v in sections["roles"].items() if isinstance(v, dict)}
    sections["roles"] = {k: v for k, v in sections["roles"].items() if not isinstance(v, dict)}
    for etype, roles in event_roles.items():
        event_roles[etype] = _section({etype: roles}, etype, path)
    label_map = LabelMap(**sections, event_roles=event_roles)
    if schema is not None:
        problems = _map_problems(label_map, schema)
        if problems:
            raise InputError(f"the label map does not fit schema {schema.name} {schema.version}: " + "; ".join(problems),
                             path=str(path), hint="map onto labels and roles the schema defines (empty drops)")
    return label_map


def _map_problems(m: LabelMap, schema: LabelSchema) -> list[str]:
    problems = []
    for section, layer in (("entities", "entities"), ("events", "events"), ("attribution", "attribution")):
        allowed = schema.span_labels(layer)
        problems += [f"{section}: {k} -> {v!r} is not one of the schema's {layer} labels (allowed: {', '.join(allowed)})"
                     for k, v in getattr(m, section).items() if v is not None and v not in allowed]
    all_roles = sorted({r.name for ev in schema.event_types for r in ev.roles})
    problems += [f"roles: {k} -> {v!r} is not a role of any event type" for k, v in m.roles.items()
                 if v is not None and v not in all_roles]
    for etype, roles in m.event_roles.items():
        definition = schema.event_type(etype)
        if definition is None:
            problems.append(f"roles: {etype!r} is not an event type of the schema")
            continue
        names = [r.name for r in definition.roles]
        problems += [f"roles: {etype}: {k} -> {v!r} is not a role of {etype} (allowed: {', '.join(names)})"
                     for k, v in roles.items() if v is not None and v not in names]
    problems += [f"attribution_roles: {k} -> {v!r} is not one of {', '.join(ATTRIBUTION_ROLES)}"
                 for k, v in m.attribution_roles.items() if v is not None and v not in ATTRIBUTION_ROLES]
    return problems

