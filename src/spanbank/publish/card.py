"""The generated dataset card (``README.md``): YAML front matter that ``load_dataset`` reads, then prose.

Never hand-edit it: the YAML's ``dataset_info`` overrides the parquet metadata, so a stale card
silently changes label names, and a wrong ``num_examples`` makes loading fail.  Sections whose
facts are unknown say so instead of disappearing.  The card is built from the corpus, the schema
and the release manifest only (no environment, no credentials); :func:`check_no_secrets` guards it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from datasets import DatasetInfo, Features, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCard, DatasetCardData

from .. import release, yamlio
from ..errors import PublishError
from ..model import LabelSchema
from ..store import Corpus
from .examples import config_examples
from .features import DEFAULT_CONFIG, files_of
from .project import DatasetConfig, check_no_local_paths
from . import sections
from .sections import REPO_PLACEHOLDER

CARD = "README.md"
BUILD_KEY = "spanbank_build"  # card YAML key recording what the folder was built from
SECRET = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")  # the shape of a Hugging Face access token
CREATORS = {"gold": "expert-generated", "silver": "machine-generated"}
TAGS = ["named-entity-recognition", "event-extraction", "event-argument-extraction", "quotation-attribution", "news",
        "spanbank"]


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def card_yaml(schema: LabelSchema, features: dict[str, Features], report: Any, manifest: dict[str, Any] | None,
              config: DatasetConfig, project: dict[str, str]) -> DatasetCardData:
    """Front matter: metadata, configs (``documents`` is the default) and ``dataset_info`` with splits."""
    configs = [{"config_name": c, "data_files": [{"split": s, "path": f"data/{files_of(c)}/{s}-*"} for s in report.splits(c)],
                **({"columns": list(features[c])} if files_of(c) != c else {}),
                **({"default": True} if c == DEFAULT_CONFIG else {})} for c in report.configs()]
    statuses = [s for s in ("gold", "silver") if report.sets.get(s)]
    data = DatasetCardData(
        language=list(config.language), **config.card_fields(), pretty_name=title(schema, manifest, config),
        task_categories=["token-classification"], task_ids=["named-entity-recognition"],
        tags=TAGS + [t for t in config.tags if t not in TAGS],
        size_categories=[size_category(report.documents)],
        annotations_creators=[CREATORS[s] for s in statuses] or ["no-annotation"],
        language_creators=["found"], multilinguality=["monolingual"], source_datasets=["original"],
        configs=configs,
        **{BUILD_KEY: {"version": (manifest or {}).get("version"), "repo_id": config.repo_id,
                       "files": dict(report.corpus_files),
                       "schema": {"name": schema.name, "version": schema.version, "sha256": schema.sha256},
                       "ratios": list(report.ratios), "project": dict(project)}},
    )
    infos = {}
    for name in report.configs():
        splits = SplitDict()
        for split in report.splits(name):
            splits.add(SplitInfo(name=split, num_bytes=report.num_bytes[name][split],
                                 num_examples=report.num_examples[name][split]))
        infos[name] = DatasetInfo(features=features[name], splits=splits, config_name=name)
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return data


def title(schema: LabelSchema, manifest: dict[str, Any] | None, config: DatasetConfig) -> str:
    return config.pretty_name or f"{(manifest or {}).get('name') or schema.name} (spanbank)"


def write_card(folder: Path, schema: LabelSchema, features: dict[str, Features], report: Any, corpus: Corpus,
               config: DatasetConfig, project: dict[str, str]) -> Path:
    """Render and save ``folder/README.md``; raises PublishError if it would contain anything secret-looking
    or a local path (the card, the project files and the examples are all checked)."""
    manifest = release.read_manifest(corpus)
    data = card_yaml(schema, features, report, manifest, config, project)
    examples = config_examples(folder, report, {c: list(f) for c, f in features.items()})
    body = "\n".join(sections.body(schema, features, report, manifest, config, data.pretty_name, examples))
    text = f"---\n{_yaml(data)}\n---\n\n{body}\n"
    check_no_secrets(text, "dataset card")
    local = (str(corpus.path.resolve().parent),)  # the project folder (and so the corpus inside it)
    check_no_local_paths(text, "dataset card", local)
    for name in project:
        content = (folder / name).read_text(encoding="utf-8", errors="replace")
        check_no_secrets(content, name)
        check_no_local_paths(content, name, local)
    path = folder / CARD
    path.write_text(text, encoding="utf-8", newline="")  # what DatasetCard(text).save writes, without re-parsing
    return path


def set_repo_id(folder: Path, repo_id: str, version: str | None = None) -> bool:
    """Write ``repo_id`` into a built card's snippets, links and citation (and its ``spanbank_build``).

    Returns whether the card changed.  Only the card's own mentions change: the quoted id in the
    loading snippets and the ``huggingface.co/datasets/<id>`` links.
    """
    path = Path(folder) / CARD
    info = read_build_info(folder)
    old = info.get("repo_id") or REPO_PLACEHOLDER
    if old == repo_id:
        return False
    text = path.read_text(encoding="utf-8")
    _, head, body = text.split("---\n", 2)
    head, n = re.subn(r"(?m)^(  repo_id: ).*$", lambda m: m.group(1) + repo_id, head, count=1)
    if n != 1:
        raise PublishError(f"the card's {BUILD_KEY} has no repo_id line", path=str(path), hint="run `spanbank build` again")
    mention = re.compile(r"(?<![\w.-])" + re.escape(old) + r"(?![\w.-])")
    lines, in_example = [], False
    for line in body.split("\n"):
        if line.startswith("```"):
            in_example = line == "```json"
        elif not in_example:  # examples are data: left alone
            if line.startswith(f"`{REPO_PLACEHOLDER}` stands for"):
                continue
            line = mention.sub(repo_id, line)
            if version:
                line = line.replace('revision="vX.Y.Z"', f'revision="v{version}"')
        lines.append(line)
    body = "\n".join(lines)
    path.write_text(f"---\n{head}---\n{body}", encoding="utf-8", newline="")
    if read_build_info(folder).get("repo_id") != repo_id:
        raise PublishError("could not write the repo id into the card", path=str(path), hint="run `spanbank build` again")
    return True


def _yaml(data: DatasetCardData) -> str:
    """``data.to_yaml()``, through libyaml when PyYAML has it (the same text, several times faster)."""
    return yamlio.dump(data.to_dict()).strip()


def read_build_info(folder: Path) -> dict[str, Any]:
    """What a built folder was built from (corpus version and file hashes), from its card."""
    path = Path(folder) / CARD
    if not path.exists():
        raise PublishError("no built dataset here (README.md is missing)", path=str(path),
                           hint="run `spanbank build` first")
    info = DatasetCard.load(path).data.to_dict().get(BUILD_KEY)
    if not isinstance(info, dict):
        raise PublishError(f"the card has no {BUILD_KEY} section: it was not built by spanbank", path=str(path),
                           hint="run `spanbank build` to regenerate it")
    return info


def check_no_secrets(text: str, what: str, token: str | None = None) -> None:
    """Refuse text holding a Hugging Face token (or the given token)."""
    if (token and token in text) or SECRET.search(text):
        raise PublishError(f"the {what} contains something that looks like a secret; refusing to write or upload it",
                           hint="remove credentials from the corpus metadata and rebuild")
