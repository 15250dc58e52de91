"""The label schema (``schema/spanbank.yaml``): load, check, hash, compare, render guidelines.

The schema file is data: entity types, event types with their argument roles, attribution labels
and links, a gazetteer and annotation conventions.  A role whose ``entity_types`` list is empty is
a *value* role (ACE's Crime, Sentence, Money, Price, Position): any span may fill it and no
entity-type check applies.

- :mod:`.source`: which file (:func:`schema_path`), reading YAML with line numbers;
- :mod:`.check`: the rules as a table (:data:`RULES`), :func:`check_schema`;
- :mod:`.load`: :func:`load_schema` (read, check, build the model), :func:`schema_hash`;
- :mod:`.compare`: :func:`compare_schemas` (what a release's version bump depends on);
- :mod:`.guidelines`: :func:`render_guidelines`, :data:`OFFSET_CONVENTION`.
"""

from .check import RULES, Rule, check_schema
from .compare import compare_schemas
from .guidelines import OFFSET_CONVENTION, render_guidelines
from .load import load_schema, schema_hash
from .source import DEFAULT_SCHEMA, SCHEMA_ENV, schema_path

__all__ = [
    "DEFAULT_SCHEMA", "OFFSET_CONVENTION", "RULES", "Rule", "SCHEMA_ENV", "check_schema", "compare_schemas",
    "load_schema", "render_guidelines", "schema_hash", "schema_path",
]
