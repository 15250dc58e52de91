"""YAML in and out: the one module PyYAML enters through.

Reading goes through libyaml (PyYAML's ``CSafeLoader``) when this PyYAML was built with it: the same
data about ten times faster than the pure-Python ``SafeLoader`` (the shipped schema: ~0.015 s
instead of ~0.15 s, paid by every command that loads or hashes it, and the lexicons at every
annotate).  Both use PyYAML's own safe constructors and resolver, so they build the same values from
the same events; a text the C parser refuses is parsed again by the pure-Python one, so an error
(its message and line) does not depend on whether libyaml is there.

The two parsers disagree on some exotic or malformed texts (found by fuzzing them against each
other): a tab inside a plain scalar (libyaml reads it, the pure parser refuses it), a byte-order mark
after the start, an empty ``!`` tag (``''`` against ``None``), a comment glued to a block-scalar
header (``|#``).  The first two can slip into a hand-edited file, so a text holding a tab or an
inner byte-order mark goes to the pure parser (:func:`pure_only`); the others need deliberate YAML
that no schema, lexicon or label map holds.

:func:`load` with ``lines=True`` builds mappings and sequences that remember the 1-based line of
each key and item (``.lines``, ``.line``; the schema checker names them), and a mapping's repeated
keys (``.repeated``).
"""

from __future__ import annotations

from typing import Any

import yaml

YAMLError = yaml.YAMLError


class LineMap(dict):
    """A YAML mapping that remembers the line of each key (1-based) and any repeated keys."""

    line: int | None = None
    lines: dict
    repeated: list


class LineList(list):
    """A YAML sequence that remembers the line of each item (1-based)."""

    line: int | None = None
    lines: list


def _construct_map(loader: Any, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    out = LineMap()
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


def _construct_seq(loader: Any, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(item, deep=True) for item in node.value)
    out.line, out.lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value]
    return out


def _with_lines(base: type) -> type:
    """A subclass of the safe loader ``base`` whose mappings and sequences carry line numbers."""
    loader = type(f"Line{base.__name__}", (base,), {})
    loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
    loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)
    return loader


# (libyaml loader or None, pure-Python loader): plain values, and values with lines.
FAST_LOADER: type | None = getattr(yaml, "CSafeLoader", None)
PURE_LOADER: type = yaml.SafeLoader
FAST_LINE_LOADER: type | None = _with_lines(FAST_LOADER) if FAST_LOADER is not None else None
PURE_LINE_LOADER: type = _with_lines(PURE_LOADER)


def pure_only(text: str) -> bool:
    """Whether ``text`` holds what libyaml reads differently from the pure-Python parser (a tab, an inner BOM)."""
    return "\t" in text or "\ufeff" in text[1:]


def load(text: str, lines: bool = False) -> Any:
    """The YAML document in ``text``, as ``yaml.safe_load`` reads it (``lines``: with line numbers).

    Raises :class:`YAMLError` as the pure-Python loader words it (``problem``, ``problem_mark``).
    """
    fast, pure = (FAST_LINE_LOADER, PURE_LINE_LOADER) if lines else (FAST_LOADER, PURE_LOADER)
    if fast is not None and not pure_only(text):
        try:
            return yaml.load(text, Loader=fast)  # safe loaders only (SafeLoader, CSafeLoader and subclasses)
        except YAMLError:
            pass  # read again below: the pure-Python parser's message and line are the ones reported
    return yaml.load(text, Loader=pure)


def problem(exc: YAMLError) -> tuple[str, int | None]:
    """What a YAML error says is wrong, and its 1-based line (None when it names none)."""
    mark = getattr(exc, "problem_mark", None)
    return getattr(exc, "problem", None) or str(exc), (mark.line + 1 if mark else None)


def dump(data: Any) -> str:
    """``data`` as block YAML in the given key order, unicode kept (libyaml's emitter when there: same text, faster)."""
    dumper = getattr(yaml, "CDumper", yaml.Dumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)
