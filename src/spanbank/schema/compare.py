"""Compare two label schemas: which labels were removed, reordered (their ids changed) or added.

Release uses it to choose the version bump: a label order is the published dataset's ClassLabel
ids, so removals and reorderings need a major version, additions at the end a minor one.
"""

from __future__ import annotations

from ..model import LabelSchema


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
