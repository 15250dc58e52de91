"""The prose of the dataset card (after its YAML): loading snippets, sources, fields, labels, examples,
statistics, provenance, agreement, personal information, the offset convention, rebuilding, versions,
license and citation.  :func:`body` yields its lines; :mod:`.card` puts YAML and body together.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from datasets import Features

from ..iob2 import tag_names
from ..model import LabelSchema
from ..schema import OFFSET_CONVENTION
from .examples import EXCERPT_ITEMS, MAX_STRING, render_json
from .features import CONFIGS, SPLITS, VIEWS
from .fields import data_fields
from .project import GUIDELINES, NOTICE, PROJECT, SCHEMA, DatasetConfig

REPO_PLACEHOLDER = "ORG/NAME"  # in the snippets until the repo id is known (dataset.yaml repo_id or publish --repo-id)
SOURCE_LICENSE = ("The article texts are news reports whose copyright stays with their publishers; they are included "
                  "for research use. Check the terms of each source before redistributing the texts. The annotations "
                  "are released under the dataset license.")


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def body(schema: LabelSchema, features: dict[str, Features], report: Any, manifest: dict[str, Any] | None,
          config: DatasetConfig, title: str, examples: dict[str, dict[str, Any]]) -> Iterator[str]:
    version = (manifest or {}).get("version")
    repo = config.repo_id or REPO_PLACEHOLDER
    yield f"# {title}"
    yield ""
    yield from _summary(schema, report, version)
    yield from _loading(repo, version)
    yield from _sources(config, repo)
    yield "## Data fields"
    yield ""
    yield from data_fields(features, report.configs())
    yield from _labels(schema)
    yield from _examples(examples)
    yield from _statistics(schema, report)
    yield from _provenance(report, manifest)
    yield from _personal(report)
    yield "## Offset convention"
    yield ""
    yield OFFSET_CONVENTION
    yield ("In the `ner` and `events` configs, `start_token` / `end_token` are token indices within the sentence "
           "(end exclusive), `null` when the span lies outside it. In the `attribution` config, offsets are document "
           "offsets and `context` starts at document offset `context_start`, so "
           "`context[start - context_start:end - context_start]` is the span text.")
    yield ""
    yield from _rebuild(repo)
    yield from _versions(manifest, version)
    yield "## Source and license"
    yield ""
    yield from _license(config)
    yield "## Citation"
    yield ""
    yield from _citation(schema, manifest, config, title, repo, version)


def _summary(schema: LabelSchema, report: Any, version: str | None) -> Iterator[str]:
    n = report.num_examples
    yield (f"English news articles annotated with entities, events and attribution (schema `{schema.name}` "
           f"{schema.version}). Version {version or 'unreleased'}: {report.documents} documents.")
    if schema.description:
        yield ""
        yield schema.description
    yield ""
    yield "| config | rows are | " + " | ".join(SPLITS) + " |"
    yield "|---|---|" + "---|" * len(SPLITS)
    kinds = {"documents": "documents (default)", "ner": "sentences, IOB2 entity tags", "events": "sentences, trigger tags, "
             "events with arguments (role, entity type, tokens), entity mentions (ACE/OneIE style)", "attribution": "attributions with their spans"}
    for config in CONFIGS:
        yield f"| `{config}` | {kinds[config]} | " + " | ".join(str(n[config][s]) for s in SPLITS) + " |"
    yield ""
    yield ("Within a split, the shards hold the documents by the release that first published them "
           "(`first_release`), oldest first: a release that adds documents adds shards and leaves the earlier "
           "shards' bytes unchanged unless their documents changed, so an update downloads (and uploads) little.")
    yield ""
    for view, source in VIEWS.items():
        yield (f"`{view}` is a column selection of the `{source}` files (its `columns` in the YAML above): the "
               f"sentences' tokens and offsets are stored once, and `{source}` rows carry `{view}`'s tags too.")
        yield ""
    train, val, test = report.ratios
    yield (f"Splits are assigned from a hash of the document id (train {train:g}, validation {val:g}, test {test:g}), "
           "so a document never changes split when documents are added in later versions. With few documents the "
           "split sizes can differ noticeably from the ratios, and a split (or a config) can be empty: empty ones "
           "are left out of this version (0 in the table) and appear once they have rows. Sentence and "
           "attribution rows follow their document's split.")
    yield ""
    gold, silver = report.sets.get("gold", 0), report.sets.get("silver", 0)
    yield (f"Published layer: the human-confirmed `gold` annotations where a document has them ({gold} documents), "
           f"else the machine `silver` pre-annotations ({silver} documents); the `status` field of every span, "
           "event, argument and attribution says which, and `annotation_set` says it per document.")
    yield ""


def _loading(repo: str, version: str | None) -> Iterator[str]:
    revision = f"v{version}" if version else "vX.Y.Z"
    yield "## Loading"
    yield ""
    yield "```python"
    yield "from datasets import load_dataset"
    yield f'docs = load_dataset("{repo}")                    # default config: documents'
    yield f'ner = load_dataset("{repo}", "ner", split="train")'
    yield 'tags = ner.features["ner_tags"].feature.names  # conll2003-style IOB2 names'
    yield f'events = load_dataset("{repo}", "events", revision="{revision}")  # this release, exactly'
    yield f'stream = load_dataset("{repo}", "attribution", split="train", streaming=True)'
    yield "```"
    yield ""
    if repo == REPO_PLACEHOLDER:
        yield (f"`{REPO_PLACEHOLDER}` stands for the Hub repository; `spanbank publish --repo-id ORG/NAME` writes the "
               "real id here (or set `repo_id` in the corpus's `dataset.yaml`). A local build loads from its folder.")
        yield ""


def _sources(config: DatasetConfig, repo: str) -> Iterator[str]:
    yield "## Dataset sources"
    yield ""
    yield f"- Hub: https://huggingface.co/datasets/{repo}"
    yield f"- Homepage: {config.homepage or 'not given (set `homepage` in dataset.yaml)'}"
    yield f"- Repository: {config.repository or 'not given (set `repository` in dataset.yaml)'}"
    yield ""


def _examples(examples: dict[str, dict[str, Any]]) -> Iterator[str]:
    yield "## Examples"
    yield ""
    if not examples:
        yield "No annotated document is in this version yet."
        yield ""
        return
    yield (f"One short row per config, as `load_dataset` returns it (ClassLabel fields are ids: see Labels). The "
           "`documents` example is an excerpt of the shortest annotated document: its `text` ends after the first "
           f"sentence with an entity, and its lists keep their first {EXCERPT_ITEMS} items inside that excerpt "
           f"(offsets unchanged). Strings longer than {MAX_STRING} characters are cut with `…`.")
    yield ""
    for config, row in examples.items():
        yield f"### `{config}`"
        yield ""
        yield "```json"
        yield from render_json(row)
        yield "```"
        yield ""


def _personal(report: Any) -> Iterator[str]:
    persons = sum(report.label_counts.get("entities", {}).get("PER", {}).values())
    yield "## Personal and sensitive information"
    yield ""
    yield ("The texts are news reports: they name real people (politicians, officials, witnesses, victims, "
           f"suspects) and the `PER` annotations mark them ({persons} `PER` mentions in this version). Reports "
           "can state health (injuries, deaths), political affiliation, alleged crimes and ethnic or religious "
           "identity of named people. Nothing is anonymized: the texts are published as their sources printed "
           "them. Do not use the data to profile or identify individuals beyond what the reports state. To ask "
           "for a document's removal, open a discussion on the dataset's Hub page or contact the maintainers "
           "named in the citation.")
    yield ""


def _rebuild(repo: str) -> Iterator[str]:
    yield "## Rebuilding the project"
    yield ""
    yield ("Besides the data, this repository carries what rebuilds the corpus and its labeling project "
           "(sha256 of each file in the card's `spanbank_build.project`):")
    yield ""
    yield f"- `{PROJECT}/{SCHEMA}`: the label schema (its content hash is `spanbank_build.schema.sha256`);"
    yield f"- `{PROJECT}/{GUIDELINES}`: the annotation guidelines rendered from it;"
    yield (f"- `{PROJECT}/CHANGELOG.md`, `{PROJECT}/manifest.json`, `{PROJECT}/doccano-rounds.jsonl` and "
           f"`{PROJECT}/dataset.yaml` (when the corpus has them): the release history and configuration;")
    yield f"- `{PROJECT}/{NOTICE}`: the credits and licences of the pre-annotators' lexicons."
    yield ""
    yield "```sh"
    yield f"spanbank import --format hf {repo} --corpus corpus   # documents, published annotations, schema, history"
    yield f"spanbank doccano setup --from-dataset {repo}         # the same Doccano project: labels, colours, keys, guidelines"
    yield "```"
    yield ""


def _license(config: DatasetConfig) -> Iterator[str]:
    if config.license == "other":
        yield (f"Dataset license: `other` — **{config.license_name}**, terms at {config.license_link}. "
               f"{config.source_license or SOURCE_LICENSE}")
    else:
        yield f"Dataset license: `{config.license}`. {config.source_license or SOURCE_LICENSE}"
    yield ""


def _bib(value: object) -> str:
    return str(value).replace("{", "").replace("}", "")


def _citation(schema: LabelSchema, manifest: dict[str, Any] | None, config: DatasetConfig, title: str, repo: str,
              version: str | None) -> Iterator[str]:
    cite = config.citation
    if cite.get("bibtex"):
        yield "```bibtex"
        yield str(cite["bibtex"]).strip()
        yield "```"
        return
    authors = cite.get("authors") or []
    year = cite.get("year") or ((manifest or {}).get("date") or "")[:4]
    url = cite.get("url") or config.homepage or f"https://huggingface.co/datasets/{repo}"
    key = re.sub(r"[^A-Za-z0-9]", "_", (authors[0].split()[-1] if authors else schema.name)) + (f"_{year}" if year else "")
    fields = [("author", " and ".join(_bib(a) for a in authors)), ("title", _bib(cite.get("title") or title)),
              ("year", year), ("publisher", _bib(cite.get("publisher") or "Hugging Face")),
              ("howpublished", f"\\url{{{url}}}"),
              ("note", f"version {version or 'unreleased'}, label schema {schema.name} {schema.version}")]
    yield "```bibtex"
    yield f"@misc{{{key},"
    yield ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    yield "}"
    yield "```"
    if not authors:
        yield ""
        yield "No authors are configured yet (`citation.authors` in the corpus's `dataset.yaml`)."


def _label_rows(names: list[str], definitions: dict[str, str]) -> Iterator[str]:
    yield "| id | label | definition |"
    yield "|---|---|---|"
    for i, name in enumerate(names):
        yield f"| {i} | `{name}` | {_cell(definitions.get(name, ''))} |"
    yield ""


def _labels(schema: LabelSchema) -> Iterator[str]:
    yield "## Labels"
    yield ""
    yield "Label ids follow the schema's append-only order: a later version only adds labels at the end."
    yield ""
    yield "### Entity types (`entities.label`; `ner_tags` are `O` then `B-X`, `I-X` per type in this order)"
    yield ""
    yield from _label_rows(schema.entity_names(), {lab.name: lab.definition for lab in schema.entity_types})
    yield f"`ner_tags` names: {', '.join(tag_names(schema.entity_names()))}."
    yield ""
    yield "### Event types (`events.type`; `trigger_tags` are `O` then `B-X`, `I-X` per type in this order)"
    yield ""
    yield from _label_rows(schema.event_names(), {ev.name: ev.label.definition for ev in schema.event_types})
    yield "### Argument roles (`arguments.role`)"
    yield ""
    admitted: dict[str, set[str]] = {}
    for ev in schema.event_types:
        for role in ev.roles:
            admitted.setdefault(role.name, set()).update(role.entity_types or ["(a value)"])
    yield from _label_rows(schema.role_names(), {r: "filled by " + ", ".join(sorted(t)) for r, t in admitted.items()})
    yield "### Attribution"
    yield ""
    yield "| part | definition |"
    yield "|---|---|"
    for lab in schema.attribution_labels:
        yield f"| `{lab.name.lower()}` | {_cell(lab.definition)} |"
    yield ""
    yield ("`parent` is the id of the attribution this one is nested in (`null` at top level); `depth` in the "
           "`attribution` config counts the nesting.")
    yield ""


def _statistics(schema: LabelSchema, report: Any) -> Iterator[str]:
    yield "## Statistics"
    yield ""
    layers = (("entities", schema.entity_names()), ("events", schema.event_names()), ("roles", schema.role_names()),
              ("attribution", ["attributions"]))
    yield "| layer | label | " + " | ".join(SPLITS) + " | total |"
    yield "|---|---|" + "---|" * (len(SPLITS) + 1)
    for layer, names in layers:
        counts = report.label_counts.get(layer, {})
        for name in names + sorted(set(counts) - set(names)):
            per = [counts.get(name, {}).get(s, 0) for s in SPLITS]
            if sum(per):
                yield f"| {layer} | `{name}` | " + " | ".join(map(str, per)) + f" | {sum(per)} |"
    yield ""
    if report.ner_conflicts:
        yield (f"{report.ner_conflicts} overlapping entity or trigger spans cannot be expressed as IOB2 tags and are "
               "missing from `ner_tags` / `trigger_tags` (they are all in the `documents` config).")
        yield ""


def _provenance(report: Any, manifest: dict[str, Any] | None) -> Iterator[str]:
    manifest = manifest or {}
    yield "## How the annotations were made"
    yield ""
    machines = manifest.get("pre_annotators") or {}
    if machines:
        yield "Pre-annotators (versioned registry names; a released name never changes its output):"
        yield ""
        for name, detail in sorted(machines.items()):
            yield f"- `{name}`" + (f": {_cell(detail)}" if detail else "")
    else:
        yield "Pre-annotators: not recorded in the release manifest."
    yield ""
    annotators = manifest.get("annotators")
    yield (f"Human annotators: {len(annotators)}." if annotators is not None else "Human annotators: not recorded.")
    yield _rounds(manifest)
    yield from _agreement(manifest.get("agreement"))
    yield ""


def _rounds(manifest: dict[str, Any]) -> str:
    """One sentence on the Doccano annotation rounds (a round = a pull that brought human labels in)."""
    rounds, last = manifest.get("doccano_rounds"), manifest.get("doccano_last_round")
    if rounds is None:
        return "Doccano annotation rounds: not recorded in the release manifest."
    if not rounds:
        return "Doccano annotation rounds: none yet (the human labels, if any, were imported)."
    tail = (f" The last one ({last['time'][:10]}) brought labels for {last['documents']} document(s) from "
            f"{len(last['annotators'])} annotator(s).") if last else ""
    return f"Doccano annotation rounds: {rounds} (each one a pull of reviewed labels from the labeling server).{tail}"


def _agreement(agreement: dict[str, Any] | None) -> Iterator[str]:
    """The release's inter-annotator agreement as a table (mean pairwise F1 and kappa, Krippendorff's alpha)."""
    if not agreement:
        yield "Inter-annotator agreement: not measured for this version (fewer than two annotators on a shared document)."
        return
    yield (f"Inter-annotator agreement over {agreement['annotators']} annotators and {agreement['documents']} "
           "shared documents (mean pairwise F1, token-level Cohen's kappa on tokens any annotator marked, "
           "Krippendorff's alpha, nominal):")
    yield ""
    yield "| layer | documents | pairs | F1 exact | F1 overlap | kappa | alpha |"
    yield "|---|---|---|---|---|---|---|"
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    for layer, row in agreement.get("layers", {}).items():
        yield (f"| {layer} | {row['documents']} | {row['pairs']} | {fmt(row['f1_exact'])} | {fmt(row['f1_overlap'])} "
               f"| {fmt(row['kappa'])} | {fmt(row['alpha'])} |")


def _versions(manifest: dict[str, Any] | None, version: str | None) -> Iterator[str]:
    yield "## Version and changelog"
    yield ""
    if not manifest:
        yield "This build is from an unreleased corpus: no version, no changelog."
        yield ""
        return
    yield f"Version {version}; pin it with `revision=\"v{version}\"`."
    yield ""
    for entry in manifest.get("changelog") or ():
        yield f"### {entry.get('version')} ({entry.get('date', 'no date')})"
        yield ""
        for line in entry.get("summary") or ():
            yield f"- {_cell(line)}"
        yield ""
