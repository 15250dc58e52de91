"""What a dataset repo needs besides its data: the corpus's dataset configuration and the project files.

**The dataset configuration** (``<corpus>/dataset.yaml``, the user's choices, read by every build)::

    pretty_name: Iraq news spans
    license: other                    # a Hub license id (cc-by-4.0, mit, ...) or `other`
    license_name: news-research-only  # required with `other` (lowercase id)
    license_link: LICENSE.md          # required with `other`: an https URL or a file shipped in the repo
    license_file: DATASET-LICENSE.md  # optional: copied into the repo as LICENSE.md (path relative to this file)
    repo_id: my-org/news-spans        # optional: the Hub repo (publish --repo-id overrides it)
    homepage: https://...             # optional
    repository: https://github.com/...# optional: where the project's code and corpus live
    tags: [news]                      # optional: added to the generated tags
    citation: {authors: [A. Author], year: 2026, title: ..., url: https://...}
    source_license: ...               # optional: the sentence on the source texts' copyright

**The project files** (``project/`` in the repo), so that someone starting from the Hub can rebuild
the corpus with its schema and history, and recreate the Doccano project: ``schema.yaml`` (the label
schema byte for byte; its content hash is in the card and checked on every read), ``GUIDELINES.md``
(rendered), ``CHANGELOG.md``, ``manifest.json``, ``doccano-rounds.jsonl``, ``dataset.yaml`` and
``NOTICE`` (the lexicons' credits).  Their sha256 are recorded in the card's ``spanbank_build``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import yamlio
from ..errors import PublishError
from ..model import LabelSchema
from ..resources import data_path
from ..schema import load_schema, render_guidelines, schema_hash, schema_path
from ..store import CHANGELOG, MANIFEST, ROUNDS, Corpus, atomic_writer, sha256_file

CONFIG = "dataset.yaml"
PROJECT = "project"
SCHEMA = "schema.yaml"
GUIDELINES = "GUIDELINES.md"
NOTICE = "NOTICE"
LICENSE = "LICENSE.md"
HISTORY = (MANIFEST, CHANGELOG, ROUNDS, CONFIG)  # corpus files copied as they are
DEFAULT_NOTICE = data_path(NOTICE)
STRINGS = ("pretty_name", "license", "license_name", "license_link", "license_file", "repo_id", "homepage",
           "repository", "source_license")
KEYS = STRINGS + ("language", "tags", "citation")
CITATION_KEYS = ("authors", "year", "title", "url", "publisher", "bibtex")
LICENSE_NAME = re.compile(r"\A[a-z0-9][a-z0-9.-]*\Z")
URL = re.compile(r"\Ahttps?://\S+\Z")
REPO_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*\Z")
EXAMPLE = "\n".join(("license: cc-by-4.0", "# or", "license: other", "license_name: news-research-only",
                     "license_link: https://example.org/terms"))


@dataclass(frozen=True)
class DatasetConfig:
    """The user's choices for the published dataset (``<corpus>/dataset.yaml``, then command-line overrides)."""

    license: str
    path: str = ""  # where it was read from (for messages), "" when it came from options only
    license_name: str | None = None
    license_link: str | None = None
    license_file: Path | None = None
    pretty_name: str | None = None
    language: tuple[str, ...] = ("en",)
    repo_id: str | None = None
    homepage: str | None = None
    repository: str | None = None
    tags: tuple[str, ...] = ()
    citation: dict[str, Any] = field(default_factory=dict)
    source_license: str | None = None

    def card_fields(self) -> dict[str, Any]:
        """The license keys of the card's YAML (``license_name`` / ``license_link`` only with ``other``)."""
        out: dict[str, Any] = {"license": self.license}
        if self.license == "other":
            out.update(license_name=self.license_name, license_link=self.license_link)
        return out


def _fail(message: str, where: str, value: Any = None, hint: str | None = None, allowed: Any = None) -> PublishError:
    return PublishError(message, path=where or None, value=value, allowed=allowed,
                        hint=hint or f"edit {where or 'the dataset configuration'}; e.g.\n{EXAMPLE}")


def read_config(corpus: Corpus, path: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """The raw mapping of the dataset configuration file and its path (``{}`` when the default file is absent)."""
    where = Path(path) if path is not None else corpus.path / CONFIG
    if path is None and not where.exists():
        return {}, ""
    try:
        data = yamlio.load(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"cannot read the dataset configuration: {exc.strerror or exc}", str(where),
                    hint="give an existing YAML file") from None
    except yamlio.YAMLError as exc:
        problem, line = yamlio.problem(exc)
        raise PublishError(f"invalid YAML: {problem}", path=str(where), line=line, hint="fix the YAML syntax") from None
    if data is None:
        return {}, str(where)
    if not isinstance(data, dict):
        raise _fail("the dataset configuration must be a YAML mapping", str(where), value=type(data).__name__)
    return data, str(where)


def dataset_config(corpus: Corpus, path: str | Path | None = None,
                   overrides: dict[str, Any] | None = None) -> DatasetConfig:
    """Read and check the dataset configuration; ``overrides`` (non-None values) win over the file.

    Raises PublishError naming the file and key: unknown keys, wrong types, no license, ``other``
    without ``license_name`` and ``license_link``, a license link that is neither a URL nor a shipped file.
    """
    data, where = read_config(corpus, path)
    data = {**data, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    shown = where or str(corpus.path / CONFIG)
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise _fail(f"unknown key {unknown[0]!r} in the dataset configuration", shown, value=unknown[0],
                    allowed=list(KEYS), hint="remove or rename it")
    for key in STRINGS:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise _fail(f"{key} must be a string", shown, value=data[key])
    for key in ("language", "tags"):
        value = data.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise _fail(f"{key} must be a list of strings", shown, value=value)
    citation = data.get("citation") or {}
    if not isinstance(citation, dict) or any(k not in CITATION_KEYS for k in citation):
        raise _fail("citation must be a mapping of " + ", ".join(CITATION_KEYS), shown, value=citation,
                    allowed=list(CITATION_KEYS))
    authors = citation.get("authors")
    if isinstance(authors, str):
        citation = {**citation, "authors": [authors]}
    license_ = data.get("license")
    if not license_:
        raise _fail("no dataset license chosen: the card must say under which terms the data may be used",
                    shown, hint=f"write {shown} with your choice, e.g.\n{EXAMPLE}\n(or pass --license ID)")
    license_file = None
    if data.get("license_file"):
        base = Path(where).parent if where else corpus.path
        license_file = base / data["license_file"]
        if not license_file.is_file():
            raise _fail(f"license_file {data['license_file']!r} does not exist", shown, value=str(license_file),
                        hint="give the path of the license text, relative to the configuration file")
        data.setdefault("license_link", LICENSE)
    if license_ == "other":
        missing = [k for k in ("license_name", "license_link") if not data.get(k)]
        if missing:
            raise _fail(f"license 'other' needs {' and '.join(missing)}: the Hub shows them as the dataset's "
                        "license", shown, value=license_, hint=f"add them to {shown}, e.g.\n{EXAMPLE}")
        if not LICENSE_NAME.match(data["license_name"]):
            raise _fail(f"license_name {data['license_name']!r} must be a lowercase id (letters, digits, '-', '.')",
                        shown, value=data["license_name"], hint="e.g. license_name: news-research-only")
    link = data.get("license_link")
    if link and not URL.match(link) and not (license_file is not None and link == LICENSE):
        raise _fail(f"license_link {link!r} is neither an http(s) URL nor the shipped {LICENSE}", shown, value=link,
                    hint=f"give a URL, or license_file: PATH (shipped as {LICENSE})")
    repo_id = data.get("repo_id")
    if repo_id and not REPO_ID.match(repo_id):
        raise _fail(f"repo_id {repo_id!r} is not ORG/NAME", shown, value=repo_id, hint="e.g. repo_id: my-org/news-spans")
    return DatasetConfig(
        license=license_, path=where, license_name=data.get("license_name"), license_link=link,
        license_file=license_file, pretty_name=data.get("pretty_name"), language=tuple(data.get("language") or ("en",)),
        repo_id=repo_id, homepage=data.get("homepage"), repository=data.get("repository"),
        tags=tuple(data.get("tags") or ()), citation=dict(citation), source_license=data.get("source_license"))


# --- the project files -----------------------------------------------------------------------------


def write_project(folder: Path, corpus: Corpus, schema: LabelSchema, config: DatasetConfig,
                  schema_file: str | Path | None = None, notice: str | Path | None = None) -> dict[str, str]:
    """Write ``folder/project/`` (and ``LICENSE.md`` when configured); returns repo path -> sha256.

    ``schema_file`` must be the YAML ``schema`` was loaded from (default: the configured schema);
    its content hash must equal ``schema.sha256``, so the shipped file is the schema of the data.
    """
    source = schema_path(schema_file)
    if schema.sha256 and schema_hash(source) != schema.sha256:
        raise PublishError(f"the schema file {source} is not the schema the dataset is built with (content hash "
                           f"{schema_hash(source)[:12]}, expected {schema.sha256[:12]})", path=str(source),
                           hint="pass the schema file the build uses (--schema)")
    target = folder / PROJECT
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target / SCHEMA)
    (target / GUIDELINES).write_text(render_guidelines(schema), encoding="utf-8", newline="")
    for name in HISTORY:
        if (corpus.path / name).is_file():
            shutil.copyfile(corpus.path / name, target / name)
    credits = Path(notice) if notice is not None else DEFAULT_NOTICE
    if credits.is_file():
        shutil.copyfile(credits, target / NOTICE)
    files = {f"{PROJECT}/{p.name}": p for p in sorted(target.iterdir())}
    if config.license_file is not None:
        shutil.copyfile(config.license_file, folder / LICENSE)
        files[LICENSE] = folder / LICENSE
    return {name: sha256_file(path) for name, path in files.items()}


def local_paths() -> list[str]:
    """Absolute paths of this machine that must never reach an uploaded file (home, working directory)."""
    found = {str(Path.home()), os.getcwd()}
    return sorted(p for p in found if len(p) > 4)


def check_no_local_paths(text: str, what: str, extra: tuple[str, ...] = ()) -> None:
    """Refuse text naming this machine's home or working directory (or ``extra`` paths)."""
    for path in (*local_paths(), *extra):
        if len(path) > 4 and path in text:  # "/", "/tmp": too short to tell a path from prose
            raise PublishError(f"the {what} contains the local path {path!r}; refusing to write or upload it",
                               value=path, hint="use paths relative to the project (re-ingest or edit the file)")


# --- reading a built or published dataset back --------------------------------------------------------


def dataset_folder(source: str | Path) -> Path:
    """A local built folder, or the project files of a Hub dataset ``ORG/NAME`` (downloaded through the hub cache)."""
    path = Path(source)
    if path.is_dir():
        return path
    if not REPO_ID.match(str(source)):
        raise PublishError("no such dataset folder", path=str(source), hint="give a folder written by `spanbank build` "
                           "or a Hub dataset id ORG/NAME")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(source), repo_type="dataset", allow_patterns=["README.md", f"{PROJECT}/*",
                                                                                          LICENSE]))
    except Exception as exc:  # noqa: BLE001 - the hub raises many types (offline, not found, auth)
        raise PublishError(f"cannot download the project files of {source} ({type(exc).__name__}: {exc})",
                           value=str(source), hint="check the id and your network (HF_HUB_OFFLINE)") from None


def project_files(folder: Path) -> dict[str, Path]:
    """The project files of a dataset folder, checked against the sha256 its card records."""
    from .card import CARD, read_build_info

    recorded = read_build_info(folder).get("project") or {}
    if f"{PROJECT}/{SCHEMA}" not in recorded:
        raise PublishError("the dataset carries no project files (built by an older spanbank)", path=str(folder / CARD),
                           hint="rebuild and republish it with this version")
    out = {}
    for name, digest in recorded.items():
        path = folder / name
        if not path.is_file():
            raise PublishError(f"{name} is missing from the dataset", path=str(path), hint="download the whole repo")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise PublishError(f"{name} does not match the sha256 its card records ({actual[:12]} != {digest[:12]})",
                               path=str(path), hint="the file was edited after the build; rebuild or re-download")
        out[name] = path
    return out


def dataset_schema(source: str | Path) -> LabelSchema:
    """The label schema a dataset was built with (its ``project/schema.yaml``, hash checked)."""
    files = project_files(dataset_folder(source))
    return load_schema(files[f"{PROJECT}/{SCHEMA}"])


@dataclass
class Restored:
    """What :func:`restore_project` wrote into the corpus, and what it kept."""

    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    missing: str = ""  # why nothing could be restored (a dataset built without project files)

    def summary(self) -> str:
        if self.missing:
            return f"no schema or history restored: {self.missing}"
        parts = [f"restored {', '.join(self.written)}" if self.written else "nothing new to restore"]
        if self.kept:
            parts.append(f"kept the corpus's own {', '.join(self.kept)}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"written": self.written, "kept": self.kept, "missing": self.missing}


def restore_project(source: str | Path, corpus: Corpus) -> Restored:
    """Copy a dataset's schema (as ``schema.yaml``) and history files into ``corpus``.

    History files (manifest, changelog, Doccano rounds, dataset configuration) are written only into
    a corpus that has none of them yet; an existing corpus keeps its own (listed in ``kept``).  The
    caller holds the corpus lock.
    """
    folder = dataset_folder(source)
    from .card import read_build_info

    if f"{PROJECT}/{SCHEMA}" not in (read_build_info(folder).get("project") or {}):
        return Restored(missing="the dataset carries no project files (built by an older spanbank)")
    files = project_files(folder)
    result = Restored()
    fresh = not any((corpus.path / name).exists() for name in HISTORY)
    for name in (SCHEMA, *HISTORY):
        path = files.get(f"{PROJECT}/{name}")
        if path is None:
            continue
        target = corpus.path / name
        same = target.is_file() and target.read_bytes() == path.read_bytes()
        if same or (name != SCHEMA and not fresh) or (name == SCHEMA and target.exists()):
            if not same:
                result.kept.append(name)
            continue
        with atomic_writer(target) as fh:  # byte for byte: the recorded hashes stay true
            fh.write(path.read_bytes())
        result.written.append(name)
    return result
