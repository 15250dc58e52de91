"""The Doccano project of a schema: settings, span and relation label types, guidelines.  Idempotent set-up.

Who sees what: the project is *collaborative*, so annotators see the pushed pre-annotations (an
imported label belongs to the importing account, and a non-collaborative project would hide it from
everyone else).  The pushing account (``spanbank_pusher`` in the meta) is the machine and must not
be used to label.  The project's guideline text is the schema's own guidelines
(:func:`spanbank.schema.render_guidelines`), never rendered here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import SyncError
from ..model import LabelSchema
from ..schema import render_guidelines
from .client import DoccanoClient


@dataclass
class SetupReport:
    project_id: int
    created: bool = False
    settings_changed: list[str] = field(default_factory=list)
    labels_created: list[str] = field(default_factory=list)
    labels_updated: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def project_settings(schema: LabelSchema) -> dict[str, Any]:
    return {"project_type": "SequenceLabeling", "resourcetype": "SequenceLabelingProject", "random_order": False,
            "collaborative_annotation": True, "allow_overlapping": True, "use_relation": True, "grapheme_mode": False,
            "allow_member_to_create_label_type": False, "guideline": render_guidelines(schema).strip()}


def label_specs(schema: LabelSchema) -> dict[str, dict[str, dict[str, Any]]]:
    """Span and relation types the project must have: name -> colour and shortcut."""
    spans = {lab.name: {"background_color": lab.color, "prefix_key": None, "suffix_key": lab.shortcut}
             for _, lab in schema.all_labels()}
    relations = {name: {"background_color": _colour(name), "prefix_key": None, "suffix_key": None}
                 for name in schema.role_names()}
    for lab in schema.attribution_links:
        relations[lab.name] = {"background_color": lab.color, "prefix_key": None, "suffix_key": None}
    return {"span": spans, "relation": relations}


def _colour(name: str) -> str:
    return "#" + hashlib.sha256(name.encode()).hexdigest()[:6]


def find_project(client: DoccanoClient, name: str) -> dict | None:
    return next((p for p in client.projects() if p["name"] == name), None)


def require_project(client: DoccanoClient, name: str) -> dict:
    """The named project, checked for the settings sync relies on."""
    project = find_project(client, name)
    if project is None:
        raise SyncError(f"Doccano at {client.url} has no project {name!r}", hint="run `spanbank doccano setup`")
    wrong = [k for k in ("collaborative_annotation", "use_relation", "allow_overlapping") if not project.get(k)]
    wrong += ["grapheme_mode"] if project.get("grapheme_mode") else []
    if wrong:
        raise SyncError(f"Doccano project {name!r} has the wrong settings: {', '.join(wrong)}",
                        hint="run `spanbank doccano setup` to fix them")
    return project


def ensure_project(client: DoccanoClient, schema: LabelSchema, name: str) -> SetupReport:
    """Create or update the project and its labels from the schema.  Idempotent; extra server labels are drift."""
    wanted = {"name": name, "description": f"spanbank corpus, schema {schema.name} {schema.version}",
              **project_settings(schema)}
    project = find_project(client, name)
    if project is None:
        project = client.create_project(wanted)
        report = SetupReport(project["id"], created=True)
    else:
        report = SetupReport(project["id"])
        changes = {k: v for k, v in wanted.items() if k not in ("project_type", "resourcetype") and project.get(k) != v}
        if changes:
            client.update_project(project["id"], {**changes, "resourcetype": wanted["resourcetype"]})
            report.settings_changed = sorted(changes)
    for kind, specs in label_specs(schema).items():
        _ensure_labels(client, project["id"], kind, specs, report)
    return report


def _ensure_labels(client: DoccanoClient, project_id: int, kind: str, specs: dict[str, dict], report: SetupReport) -> None:
    existing = {lab["text"]: lab for lab in client.label_types(project_id, kind)}
    report.drift += [f"{kind} label {name!r} is on the server but not in the schema" for name in existing
                     if name not in specs]
    for name, spec in specs.items():
        current = existing.get(name)
        if current is None:
            client.create_label_type(project_id, kind, {"text": name, "text_color": "#ffffff", **spec})
            report.labels_created.append(f"{kind}:{name}")
            continue
        changes = {k: v for k, v in spec.items() if current.get(k) != v}
        if changes:
            client.update_label_type(project_id, kind, current["id"], changes)
            report.labels_updated.append(f"{kind}:{name}")


__all__ = ["SetupReport", "ensure_project", "find_project", "label_specs", "project_settings", "require_project"]
