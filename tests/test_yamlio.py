"""yamlio: the one way YAML is read and written.  libyaml's loader (the fast path) must read every text
the way PyYAML's pure-Python loader does: the same values, the same line numbers, the same errors."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from spanbank import yamlio
from spanbank.resources import data_path

# A schema-shaped text with odd scalars: unicode in every form, escapes, block scalars (kept, folded,
# chomped), YAML 1.1 resolver cases (yes/on, octal, sexagesimal, .inf, timestamps), anchors and merges.
ODD = '# odd scalars: unicode in every form, escapes, block scalars, YAML 1.1 resolver cases, anchors\nname: "mini \\u00e9 e\\u0301 \\U0001F600 \\x85nel"\nversion: 1.0.0\nentity_types:\n  - name: PER\n    definition: Ünïcödé — «quoted» 北京 مرحبا 👍 é ﬁ\n    examples: [\'[Ghani] said \'\'hi\'\'\', "tab\\there", "line\\u2028sep", "\\"quoted\\" \\\\ back", \'single  # not a comment\']\n    color: "#1f77b4"\n    shortcut: p\n  - name: ORG\n    definition: |\n      literal block\n        indented more   \n      trailing spaces kept above\n    examples:\n      - >-\n        folded\n        text\n\n        with a blank line\n      - |+\n        keep the trailing newlines\n\n      - plain\n        scalar over\n        three lines\n    color: \'#ff7f0e\'\n    shortcut: o\ngazetteer:\n  Ålborg Kommune: ORG\n  "Quds\\tForce": ORG\n  ? explicit key\n  : PER\n  "": ORG\nodd:\n  bools: [yes, No, on, OFF, y, n, true, False]\n  numbers: [0o17, 017, 0x1F, 1_000, 1:20, 6.8523015e+5, .inf, -.Inf, .NaN, +12, 0b101, 1e3, 12e03]\n  nulls: [~, null, Null, ]\n  dates: [2001-12-14t21:59:43.10-05:00, 2002-12-14, 2001-12-14 21:59:43.10 -5]\n  base: &base {k: v, n: 1}\n  merged: {<<: *base, n: 2}\n  strings: [\'\', "", \' lead\', "trail ", \'it\'\'s\', "multi\n    line quoted", 2.0.1, 0.5.0, "12", \'0x1F\', -, \':\', \'@at\', \'`tick\']\n  binary: !!binary aGVsbG8=\n  nested: [[1, [2, [3]]], {a: {b: {c: [x]}}}]\n'

SHIPPED = sorted(data_path("schema").rglob("*.yaml"))


def lines_of(node):
    """The value with every mapping's and sequence's line numbers beside it (what the schema checker reads)."""
    if isinstance(node, dict):
        return {"line": node.line, "lines": dict(node.lines), "repeated": list(node.repeated),
                "items": {k: lines_of(v) for k, v in node.items()}}
    if isinstance(node, list):
        return {"line": node.line, "lines": list(node.lines), "items": [lines_of(v) for v in node]}
    return node


def both(text: str, lines: bool = False):
    """(what yamlio.load reads, what the pure-Python loader reads)."""
    pure = yaml.load(text, Loader=yamlio.PURE_LINE_LOADER if lines else yamlio.PURE_LOADER)
    return yamlio.load(text, lines=lines), pure


def test_the_fast_loader_is_libyaml():
    """The locked PyYAML carries libyaml: the tests below compare two different parsers."""
    assert yamlio.FAST_LOADER is yaml.CSafeLoader and issubclass(yamlio.FAST_LINE_LOADER, yaml.CSafeLoader)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_load_shipped_files_as_the_pure_loader_does(path):
    text = path.read_text(encoding="utf-8")
    assert not yamlio.pure_only(text)  # the fast path reads them
    fast, pure = both(text)
    assert fast == pure
    fast, pure = both(text, lines=True)
    assert lines_of(fast) == lines_of(pure)


@pytest.mark.parametrize("text", [ODD, "\ufeff" + ODD, ODD.replace("\n", "\r\n")], ids=["odd", "bom", "crlf"])
def test_load_odd_scalars_as_the_pure_loader_does(text):
    assert not yamlio.pure_only(text)
    fast, pure = both(text, lines=True)
    assert lines_of(fast) == lines_of(pure)
    assert math.isnan(fast["odd"]["numbers"][8]) and fast["odd"]["bools"][:4] == [True, False, True, False]
    assert fast["entity_types"][0]["definition"] == "Ünïcödé — «quoted» 北京 مرحبا 👍 é ﬁ"


@pytest.mark.parametrize("text", [
    "a: x\x7fy\n",  # libyaml: "control characters are not allowed"
    "a:\n\t- x\n",  # libyaml words the tab error differently
    "k" * 1100 + ": v\n",  # libyaml: "... not allowed in this context"
    "a: 'unclosed\n",
    "a: [1, 2\nb: 3\n",
])
def test_load_errors_are_worded_as_the_pure_loader_words_them(text):
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.load(text, Loader=yamlio.PURE_LOADER)
    for lines in (False, True):
        with pytest.raises(yamlio.YAMLError) as caught:
            yamlio.load(text, lines=lines)
        assert yamlio.problem(caught.value) == yamlio.problem(pure.value)


@pytest.mark.parametrize("text", ["a: x\ty\n", "\n\ufeff.y\n"], ids=["tab", "inner-bom"])
def test_load_sends_what_libyaml_reads_differently_to_the_pure_loader(text):
    assert yamlio.pure_only(text)
    try:
        pure = ("value", yaml.load(text, Loader=yamlio.PURE_LOADER))
    except yaml.YAMLError as exc:
        pure = ("error", yamlio.problem(exc))
    try:
        got = ("value", yamlio.load(text))
    except yamlio.YAMLError as exc:
        got = ("error", yamlio.problem(exc))
    assert got == pure
    assert yaml.load(text, Loader=yaml.CSafeLoader) != pure[1]  # libyaml alone would read something else


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
data = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(data, st.sampled_from([None, False, True]), st.sampled_from([None, '"', "'", "|", ">"]), st.booleans(),
       st.sampled_from([20, 80]))
def test_load_reads_any_emitted_yaml_as_the_pure_loader_does(value, flow, style, unicode, width):
    """Whatever PyYAML emits (every style, any unicode text) reads the same through both parsers."""
    text = yaml.dump(value, Dumper=yaml.SafeDumper, default_flow_style=flow, default_style=style, allow_unicode=unicode,
                     width=width)
    fast, pure = both(text, lines=True)
    assert lines_of(fast) == lines_of(pure)


def test_dump_keeps_key_order_and_unicode():
    text = yamlio.dump({"zeta": "Ålborg é", "alpha": [1, {"b": None}]})
    assert text == "zeta: Ålborg é\nalpha:\n- 1\n- b: null\n"
    assert yamlio.load(text) == {"zeta": "Ålborg é", "alpha": [1, {"b": None}]}
