"""Tests for spanbank.schema: the shipped schema, the checks, the hash, the guidelines, the diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanbank.errors import SchemaError
from spanbank.resources import data_path, data_root
from spanbank.schema import (
    DEFAULT_SCHEMA,
    RULES,
    check_schema,
    compare_schemas,
    load_schema,
    render_guidelines,
    schema_hash,
    schema_path,
)

ACE_EVENTS = [
    "Life:Be-Born", "Life:Marry", "Life:Divorce", "Life:Injure", "Life:Die", "Movement:Transport",
    "Transaction:Transfer-Ownership", "Transaction:Transfer-Money", "Business:Start-Org", "Business:Merge-Org",
    "Business:Declare-Bankruptcy", "Business:End-Org", "Conflict:Attack", "Conflict:Demonstrate", "Contact:Meet",
    "Contact:Phone-Write", "Personnel:Start-Position", "Personnel:End-Position", "Personnel:Nominate",
    "Personnel:Elect", "Justice:Arrest-Jail", "Justice:Release-Parole", "Justice:Trial-Hearing",
    "Justice:Charge-Indict", "Justice:Sue", "Justice:Convict", "Justice:Sentence", "Justice:Fine",
    "Justice:Execute", "Justice:Extradite", "Justice:Acquit", "Justice:Appeal", "Justice:Pardon",
]
VALUE_ROLES = {"Crime": ("CRIME",), "Sentence": ("SENTENCE",), "Money": ("MONEY",), "Price": ("MONEY",), "Position": ()}

MINI = """\
# a small schema for tests
name: mini
version: 1.0.0
entity_types:
  - name: PER
    definition: A person.
    examples: ["[Ghani] visited Baghdad."]
    color: "#1f77b4"
    shortcut: p
  - name: ORG
    definition: An organization.
    color: "#ff7f0e"
    shortcut: o
event_types:
  - name: Conflict:Attack
    definition: An attack.
    shortcut: "1"
    roles:
      - {name: Attacker, entity_types: [PER, ORG]}
      - {name: Crime, entity_types: []}
attribution:
  labels:
    - {name: SOURCE, definition: Who., shortcut: s}
    - {name: CUE, definition: The reporting words., shortcut: c}
    - {name: CONTENT, definition: What., shortcut: n}
  links:
    - {name: SOURCE, definition: From cue to source.}
    - {name: CONTENT, definition: From cue to content.}
  nesting: allowed
gazetteer:
  Quds Force: ORG
conventions:
  - "Titles are not part of a PER mention."
"""


def write(tmp_path: Path, text: str, name: str = "mini.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str, text: str = MINI) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.fixture(scope="module")
def shipped():
    return load_schema()


# --- the shipped schema ------------------------------------------------------------------------


def test_load_schema_shipped_entity_types_in_order(shipped):
    assert shipped.name == "spanbank-news"
    assert shipped.version == "1.1.0"
    assert shipped.entity_names() == ["PER", "ORG", "GPE", "LOC", "FAC", "VEH", "WEA", "TIME", "MONEY", "CRIME", "SENTENCE"]


def test_load_schema_shipped_event_types(shipped):
    names = shipped.event_names()
    assert len(names) == 34
    assert names[:33] == ACE_EVENTS
    assert names[33] == "Justice:Investigate"
    investigate = shipped.event_type("Justice:Investigate")
    assert [r.name for r in investigate.roles] == ["Investigator", "Defendant", "Place", "Time"]


def test_load_schema_shipped_roles_admit_known_entity_types(shipped):
    entities = set(shipped.entity_names())
    for ev in shipped.event_types:
        assert ev.roles, ev.name
        for role in ev.roles:
            assert set(role.entity_types) <= entities, (ev.name, role.name)
            if role.name in VALUE_ROLES:  # ACE values: their own labels since 1.1.0; Position (Job-Title) stays open
                assert role.entity_types == VALUE_ROLES[role.name], (ev.name, role.name)
            else:
                assert role.entity_types and not set(role.entity_types) & {"MONEY", "CRIME", "SENTENCE"}, (ev.name, role.name)
            if role.name == "Time":
                assert role.entity_types == ("TIME",)
            if role.name in ("Place", "Origin", "Destination"):
                assert role.entity_types == ("GPE", "LOC", "FAC")


def test_load_schema_shipped_labels_and_keys(shipped):
    assert shipped.attribution_names() == ["SOURCE", "CUE", "CONTENT"]
    assert [lab.name for lab in shipped.attribution_links] == ["SOURCE", "CONTENT"]
    labels = [lab for _layer, lab in shipped.all_labels()]
    shortcuts = [lab.shortcut for lab in labels if lab.shortcut]
    assert len(shortcuts) == len(set(shortcuts))
    assert all(lab.shortcut for lab in shipped.entity_types + shipped.attribution_labels)
    assert len({lab.color for lab in labels}) == len(labels)
    assert all(lab.definition and lab.examples for lab in labels)
    assert shipped.gazetteer["Green Zone"] == "LOC"
    assert shipped.sha256 == schema_hash(DEFAULT_SCHEMA)


def test_check_schema_shipped_has_no_problems():
    import yaml

    data = yaml.safe_load(DEFAULT_SCHEMA.read_text(encoding="utf-8"))
    assert check_schema(data, DEFAULT_SCHEMA) == []


def test_load_schema_env_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SPANBANK_SCHEMA", str(write(tmp_path, MINI)))
    assert load_schema().name == "mini"


def test_load_schema_mini_value_role_is_empty(tmp_path):
    schema = load_schema(write(tmp_path, MINI))
    attack = schema.event_type("Conflict:Attack")
    assert attack.role("Crime").entity_types == ()
    assert attack.role("Attacker").entity_types == ("PER", "ORG")
    assert schema.entity_types[0].examples == ("[Ghani] visited Baghdad.",)
    assert schema.event_types[0].label.shortcut == "1"


# --- which schema file -------------------------------------------------------------------------


def test_schema_path_checkout_reads_the_repository_files():
    root = Path(__file__).resolve().parents[1]
    assert data_root() == root  # a checkout (editable install): the files being edited, not a copy
    assert DEFAULT_SCHEMA == root / "schema" / "spanbank.yaml"
    assert (data_path("schema", "lexicons") / "triggers_v2.yaml").is_file()
    assert data_path("NOTICE").read_text(encoding="utf-8") == (root / "NOTICE").read_text(encoding="utf-8")


def test_schema_path_working_directory_schema_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("SPANBANK_SCHEMA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert schema_path() == DEFAULT_SCHEMA  # no schema/ here: the shipped one
    assert load_schema().name == "spanbank-news"
    (tmp_path / "schema").mkdir()
    local = write(tmp_path / "schema", MINI, "spanbank.yaml")
    assert schema_path() == local
    assert load_schema().name == "mini"
    other = write(tmp_path, MINI.replace("name: mini", "name: other"), "other.yaml")
    monkeypatch.setenv("SPANBANK_SCHEMA", str(other))
    assert load_schema().name == "other"  # the variable beats the folder
    assert load_schema(DEFAULT_SCHEMA).name == "spanbank-news"  # an explicit path beats both


# --- broken schemas ----------------------------------------------------------------------------

# (id, text to replace, replacement, text on the line the error must name, bad value in the message)
BROKEN = [
    ("duplicate-shortcut", "    shortcut: o", "    shortcut: p  # here", "# here", "'p'"),
    ("shortcut-two-keys", "shortcut: s}", "shortcut: ss}  # here", "# here", "'ss'"),
    ("shortcut-ctrl", "shortcut: c}", "shortcut: ctrl+c}  # here", "# here", "'ctrl+c'"),
    ("shortcut-unquoted-digit", 'shortcut: "1"', "shortcut: 1  # here", "# here", "1"),
    ("color-not-hex", 'color: "#ff7f0e"', "color: orange  # here", "# here", "'orange'"),
    ("color-short", 'color: "#1f77b4"', 'color: "#17b"  # here', "# here", "'#17b'"),
    ("version-not-semver", "version: 1.0.0", "version: 1.0  # here", "# here", "1.0"),
    ("version-word", "version: 1.0.0", "version: one  # here", "# here", "'one'"),
    ("unknown-top-key", "gazetteer:", "labels: []  # here\ngazetteer:", "# here", "'labels'"),
    ("unknown-label-key", "    color: \"#ff7f0e\"", "    colour: \"#ff7f0e\"  # here", "# here", "'colour'"),
    ("unknown-role-key", "{name: Crime, entity_types: []}", "{name: Crime, types: []}  # here", "# here", "'types'"),
    ("missing-definition", "  - name: PER\n    definition: A person.\n", "  - name: PER  # here\n", "# here", "PER"),
    ("empty-definition", "definition: An organization.", "definition: ''  # here", "# here", "ORG"),
    ("duplicate-label-across-layers", "  - name: Conflict:Attack", "  - name: PER  # here", "# here", "'PER'"),
    ("duplicate-label-in-layer", "  - name: ORG", "  - name: PER  # here", "# here", "'PER'"),
    ("role-unknown-entity-type", "[PER, ORG]}", "[PER, ORGG]}  # here", "# here", "'ORGG'"),
    ("role-duplicate", "      - {name: Crime, entity_types: []}",
     "      - {name: Attacker, entity_types: []}  # here", "# here", "'Attacker'"),
    ("gazetteer-unknown-type", "Quds Force: ORG", "Quds Force: ORGANISATION  # here", "# here", "'ORGANISATION'"),
    ("gazetteer-duplicate-key", "Quds Force: ORG", "Quds Force: ORG\n  Quds Force: PER  # here", "# here", "'Quds Force'"),
    ("duplicate-key", "    shortcut: p", "    shortcut: p\n    shortcut: q  # here", "# here", "'shortcut'"),
    ("attribution-label-unknown", "{name: CUE,", "{name: QUOTE,", "QUOTE", "'QUOTE'"),
    ("nesting-unknown", "nesting: allowed", "nesting: sometimes  # here", "# here", "'sometimes'"),
    ("event-types-not-list", "event_types:\n", "event_types: Conflict  # here\nunused:\n", "# here", "Conflict"),
    ("yaml-syntax", "  Quds Force: ORG", "  Quds Force: ORG: PER", "Quds Force", None),
]


@pytest.mark.parametrize(("old", "new", "marker", "value"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_load_schema_broken_names_file_line_value(tmp_path, old, new, marker, value):
    text = edited(old, new)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if marker in row)
    path = write(tmp_path, text, "broken.yaml")
    with pytest.raises(SchemaError) as caught:
        load_schema(path)
    message = str(caught.value)
    assert f"broken.yaml:{line}:" in message
    if value is not None:
        located = [row for row in message.splitlines() if f"broken.yaml:{line}:" in row]
        assert any(value in row for row in located), message


# (what, key, unique_in) of a RULES row -> (text to replace, replacement) that breaks only that rule
RULE_CASES = {
    ("schema", "name", None): ("name: mini", "name: ''"),
    ("schema", "version", None): ("version: 1.0.0", "version: 1.0"),
    ("schema", "description", None): ("version: 1.0.0\n", "version: 1.0.0\ndescription: [a, b]\n"),
    ("convention", None, None): ('  - "Titles are not part of a PER mention."', '  - ""'),
    ("label", "definition", None): ("definition: An organization.", "definition: ''"),
    ("example", None, None): ('["[Ghani] visited Baghdad."]', '["[Ghani] visited Baghdad.", " "]'),
    ("label", "color", None): ('color: "#ff7f0e"', "color: orange"),
    ("label", "shortcut", None): ("shortcut: o", "shortcut: oo"),
    ("span label", "name", "labels"): ("  - name: Conflict:Attack", "  - name: PER"),
    ("span label", "shortcut", "shortcuts"): ("    shortcut: o", "    shortcut: p"),
    ("attribution", "nesting", None): ("nesting: allowed", "nesting: sometimes"),
    ("attribution label", "name", None): ("shortcut: n}\n", "shortcut: n}\n    - {name: QUOTE, definition: Q.}\n"),
    ("attribution link", "name", None): ("  nesting:", "    - {name: SPEAKER, definition: S.}\n  nesting:"),
    ("attribution link", "name", "links"): ("  nesting:", "    - {name: SOURCE, definition: Again.}\n  nesting:"),
    ("event", "roles", None): ("    roles:\n      - {name: Attacker, entity_types: [PER, ORG]}\n"
                               "      - {name: Crime, entity_types: []}\n", ""),
    ("role", "name", "roles of {event}"): ("{name: Crime, entity_types: []}", "{name: Attacker, entity_types: []}"),
    ("role", "name", None): ("{name: Crime, entity_types: []}", "{name: SOURCE, entity_types: []}"),
    ("role", "entity_types", None): ("{name: Crime, entity_types: []}", "{name: Crime}"),
    ("role type", None, None): ("[PER, ORG]}", "[PER, ORGG]}"),
    ("gazetteer surface", None, None): ("  Quds Force: ORG", "  '  ': ORG"),
    ("gazetteer type", None, None): ("Quds Force: ORG", "Quds Force: XYZ"),
}


def _rule_id(rule):
    return (rule.what, rule.key, rule.unique_in)


def test_rules_every_row_has_a_case():
    assert sorted(map(str, RULE_CASES)) == sorted(str(_rule_id(rule)) for rule in RULES)


@pytest.mark.parametrize("rule", RULES, ids=[" ".join(map(str, _rule_id(r))) for r in RULES])
def test_check_schema_each_rule_fires_alone(tmp_path, rule):
    import re

    old, new = RULE_CASES[_rule_id(rule)]
    template = rule.message + (f" ({rule.fix})" if rule.fix else "")
    pattern = re.compile(re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(template)))
    path = write(tmp_path, edited(old, new), "broken.yaml")
    from spanbank.schema.source import read_yaml

    problems = check_schema(read_yaml(path), path)
    assert [p for p in problems if pattern.fullmatch(p.message)], (template, [str(p) for p in problems])
    assert len(problems) == 1, [str(p) for p in problems]


def test_load_schema_reports_every_problem(tmp_path):
    text = edited('color: "#ff7f0e"', "color: orange")
    text = edited("version: 1.0.0", "version: 1", text)
    text = edited("[PER, ORG]}", "[PER, XYZ]}", text)
    with pytest.raises(SchemaError) as caught:
        load_schema(write(tmp_path, text))
    err = caught.value
    assert len(err.problems) == 3
    assert "3 problems" in str(err)
    assert {p.line for p in err.problems} == {3, 12, 19}


def test_load_schema_missing_file(tmp_path):
    with pytest.raises(SchemaError, match="nothere.yaml: cannot read schema"):
        load_schema(tmp_path / "nothere.yaml")


def test_load_schema_shortcut_message_format(tmp_path):
    path = write(tmp_path, edited("    shortcut: o", "    shortcut: p"), "s.yaml")
    with pytest.raises(SchemaError) as caught:
        load_schema(path)
    assert str(caught.value).endswith("s.yaml:13: shortcut 'p' of ORG is already used by PER (use another key)")


def test_check_schema_plain_dict_without_lines():
    problems = check_schema({"name": "x", "version": "1.0.0"}, "x.yaml")
    assert [p.message for p in problems] == [
        "missing required key 'entity_types'",
        "missing required key 'event_types'",
        "missing required key 'attribution'",
    ]
    assert all(p.line is None and p.path == "x.yaml" for p in problems)


# --- hash --------------------------------------------------------------------------------------


def test_schema_hash_stable_under_comments_and_whitespace(tmp_path):
    before = schema_hash(write(tmp_path, MINI, "a.yaml"))
    reformatted = MINI.replace("# a small schema", "# reworded comment\n\n# another").replace(
        "    shortcut: p", "    shortcut:    p   # the p key"
    ).replace("  Quds Force: ORG", "  'Quds Force':   ORG\n")
    assert schema_hash(write(tmp_path, reformatted, "b.yaml")) == before
    assert load_schema(tmp_path / "b.yaml").sha256 == before


def test_schema_hash_changes_with_label_edit(tmp_path):
    before = schema_hash(write(tmp_path, MINI, "a.yaml"))
    after = schema_hash(write(tmp_path, edited("definition: A person.", "definition: A human being."), "b.yaml"))
    assert after != before


# --- guidelines --------------------------------------------------------------------------------


def test_render_guidelines_contains_every_label(shipped):
    text = render_guidelines(shipped)
    for _layer, label in shipped.all_labels():
        assert f"`{label.name}`" in text
        assert label.definition in text
    for role in shipped.role_names():
        assert f"  - {role}: " in text
    for surface in shipped.gazetteer:
        assert f"| {surface} |" in text
    assert "[start, end)" in text
    assert "Titles (General, Prime Minister, Commander in Chief)" not in text  # conventions are rendered as written
    assert "titles and roles (General, Prime Minister, Commander in Chief)" in text
    assert "parent" in text


def test_render_guidelines_explicit_conventions(tmp_path):
    schema = load_schema(write(tmp_path, MINI))
    text = render_guidelines(schema, conventions=["Never mark pronouns."])
    assert "- Never mark pronouns." in text
    assert "Titles are not part" not in text
    assert "Crime: any span" in text


# --- compare -----------------------------------------------------------------------------------


def test_compare_schemas_identical(tmp_path):
    schema = load_schema(write(tmp_path, MINI))
    assert compare_schemas(schema, schema) == {"removed": [], "renamed_or_reordered": [], "added": []}


def test_compare_schemas_removal_reorder_addition(tmp_path):
    old = load_schema(write(tmp_path, MINI, "old.yaml"))
    per = "  - name: PER\n    definition: A person.\n    examples: [\"[Ghani] visited Baghdad.\"]\n" \
          "    color: \"#1f77b4\"\n    shortcut: p\n"
    org = "  - name: ORG\n    definition: An organization.\n    color: \"#ff7f0e\"\n    shortcut: o\n"
    veh = "  - name: VEH\n    definition: A vehicle.\n"
    text = edited(per + org, org + per + veh)
    text = edited("      - {name: Crime, entity_types: []}\n", "", text)
    new = load_schema(write(tmp_path, text, "new.yaml"))
    diff = compare_schemas(old, new)
    assert diff["removed"] == ["roles:Crime"]
    assert diff["renamed_or_reordered"] == ["entities:PER", "entities:ORG"]
    assert diff["added"] == ["entities:VEH"]


def test_compare_schemas_append_only_is_addition(tmp_path):
    old = load_schema(write(tmp_path, MINI, "old.yaml"))
    text = edited("attribution:\n", "  - name: Justice:Investigate\n    definition: A probe.\n    roles: []\nattribution:\n")
    diff = compare_schemas(old, load_schema(write(tmp_path, text, "new.yaml")))
    assert diff == {"removed": [], "renamed_or_reordered": [], "added": ["events:Justice:Investigate"]}


def test_compare_schemas_rename(tmp_path):
    old = load_schema(write(tmp_path, MINI, "old.yaml"))
    new = load_schema(write(tmp_path, MINI.replace("ORG", "ORGANIZATION"), "new.yaml"))
    diff = compare_schemas(old, new)
    assert diff["removed"] == ["entities:ORG"]
    assert diff["added"] == ["entities:ORGANIZATION"]


@pytest.mark.parametrize("odd", [False, True], ids=["shipped", "odd-scalars"])
def test_schema_hash_is_the_same_with_and_without_libyaml(tmp_path, monkeypatch, odd):
    """The hash is read through libyaml when PyYAML has it; without it (the pure-Python loader) it is the same."""
    import yaml

    from spanbank import yamlio
    from spanbank.schema.load import content_hash
    from test_yamlio import ODD

    path = write(tmp_path, ODD) if odd else DEFAULT_SCHEMA
    reference = content_hash(yaml.load(path.read_text(encoding="utf-8"), Loader=yamlio.PURE_LINE_LOADER))
    assert yamlio.FAST_LINE_LOADER is not None and schema_hash(path) == reference
    monkeypatch.setattr(yamlio, "FAST_LINE_LOADER", None)  # as where PyYAML was built without libyaml
    assert schema_hash(path) == reference
    if not odd:
        assert load_schema(path).sha256 == reference
