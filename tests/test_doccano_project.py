"""The Doccano project of a schema (doccano/project.py): idempotent set-up, label drift, settings."""

from __future__ import annotations

import time

from spanbank.doccano import project as projects


def test_ensure_project_idempotent_and_reports_drift(client, schema):
    name = f"setup-{time.time_ns()}"
    first = projects.ensure_project(client, schema, name)
    assert first.created and len(first.labels_created) == len(list(schema.all_labels())) + len(schema.role_names()) + 2
    client.create_label_type(first.project_id, "span", {"text": "NOT-IN-SCHEMA", "background_color": "#000000"})
    second = projects.ensure_project(client, schema, name)
    assert (second.created, second.labels_created, second.labels_updated, second.settings_changed) == (False, [], [], [])
    assert second.drift == ["span label 'NOT-IN-SCHEMA' is on the server but not in the schema"]
    types = {t["text"]: t for t in client.label_types(first.project_id, "span")}
    assert types["PER"]["suffix_key"] == "p" and types["PER"]["background_color"] == "#1f77b4"
    project = projects.require_project(client, name)
    assert project["collaborative_annotation"] and project["use_relation"] and not project["grapheme_mode"]
    assert project["guideline"].startswith("#") or len(project["guideline"]) > 100
