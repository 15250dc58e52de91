"""Which schema file to use, and reading it as YAML whose mappings and sequences know their lines.

Every problem the checker reports names the file and the YAML line, so the parsed mappings and
sequences carry the line of each key and item (:func:`line_of`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ..errors import SchemaError
from ..resources import data_path

SCHEMA_ENV = "SPANBANK_SCHEMA"
SCHEMA_FILE = Path("schema") / "spanbank.yaml"
DEFAULT_SCHEMA = data_path(*SCHEMA_FILE.parts)  # the schema spanbank ships (in a checkout: the repository's)


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


def display(path: str | Path) -> str:
    """The path as messages show it: relative to the working directory when it lies below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def schema_path(path: str | Path | None = None) -> Path:
    """The schema file to use.

    ``path`` when given, else ``$SPANBANK_SCHEMA``, else the working directory's own
    ``schema/spanbank.yaml`` (a corpus repository's schema wins), else the shipped schema.
    """
    if path is not None:
        return Path(path)
    if os.environ.get(SCHEMA_ENV):
        return Path(os.environ[SCHEMA_ENV])
    local = Path.cwd() / SCHEMA_FILE
    return local if local.is_file() else DEFAULT_SCHEMA


def read_yaml(path: Path) -> Any:
    """Parse the YAML file, turning I/O and syntax errors into a located :class:`SchemaError`."""
    shown = display(path)
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


def line_of(container: Any, key: Any) -> int | None:
    """The YAML line of ``container[key]`` (or of the container itself when ``key`` is None)."""
    if key is None or not hasattr(container, "lines"):
        return getattr(container, "line", None)
    if isinstance(container, list):
        return container.lines[key] if 0 <= key < len(container.lines) else container.line
    return container.lines.get(key, container.line)
