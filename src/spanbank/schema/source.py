"""Which schema file to use, and reading it as YAML whose mappings and sequences know their lines.

Every problem the checker reports names the file and the YAML line, so the parsed mappings and
sequences carry the line of each key and item (:func:`spanbank.yamlio.load` with ``lines``;
:func:`line_of`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import yamlio
from ..errors import SchemaError
from ..resources import data_path

SCHEMA_ENV = "SPANBANK_SCHEMA"
SCHEMA_FILE = Path("schema") / "spanbank.yaml"
DEFAULT_SCHEMA = data_path(*SCHEMA_FILE.parts)  # the schema spanbank ships (in a checkout: the repository's)


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
        return yamlio.load(text, lines=True)
    except yamlio.YAMLError as exc:
        problem, line = yamlio.problem(exc)
        raise SchemaError(f"invalid YAML: {problem}", path=shown, line=line) from exc


def line_of(container: Any, key: Any) -> int | None:
    """The YAML line of ``container[key]`` (or of the container itself when ``key`` is None)."""
    if key is None or not hasattr(container, "lines"):
        return getattr(container, "line", None)
    if isinstance(container, list):
        return container.lines[key] if 0 <= key < len(container.lines) else container.line
    return container.lines.get(key, container.line)
