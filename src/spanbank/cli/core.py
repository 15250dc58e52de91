"""Core commands: ingest, validate, release, diff, stats, schema."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import click

from .. import ingest as ingest_mod
from .. import release as release_mod
from ..schema import load_schema, render_guidelines
from ..agreement import agreement, agreement_summary
from ..errors import CorpusError, SpanbankError
from ..show import render_html
from ..store import open_corpus
from ..validate import validate as validate_corpus
from .common import (creates_corpus, EXIT_PROBLEMS, corpus_option, emit_json, handle_errors, json_option, progress_bar, say)

schema_option = click.option("--schema", "schema_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                             help="Label schema YAML (default: schema/spanbank.yaml).")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@corpus_option
@click.option("--skip-bad", is_flag=True,
              help="Skip unreadable files and bad JSONL records (and list them) instead of aborting the batch.")
@click.option("--max-bytes", type=int, default=ingest_mod.DEFAULT_MAX_BYTES, show_default=True,
              help="Refuse files larger than this.")
@json_option
@handle_errors
@creates_corpus
def ingest(paths, corpus_path, skip_bad, max_bytes, as_json):
    """Add articles (seed format, plain .txt, JSONL) to the corpus.

    \b
    Example:
      spanbank ingest seeds/ --corpus corpus/
      spanbank ingest more.jsonl --skip-bad
    Re-ingesting an article is a no-op; one bad file aborts the batch with the corpus untouched.
    """
    corpus = open_corpus(corpus_path)
    report = ingest_mod.IngestReport()
    with corpus.lock(), progress_bar("ingest") as advance:
        known = set(corpus.ids())
        new = ingest_mod.new_documents(paths, known, max_bytes=max_bytes, skip_bad=skip_bad, report=report,
                                       progress=advance)
        first = next(new, None)
        if first is not None:
            corpus.write(itertools.chain(corpus.documents(), [first], new))
    if as_json:
        emit_json(report.as_dict())
    else:
        say(f"{len(report.added)} document(s) added to {corpus.path}")
        for path, doc_id in report.duplicates:
            say(f"duplicate: {path} is already {doc_id}")
        for message in report.skipped:
            say(f"skipped: {message}")
        for message in report.ignored:
            say(f"ignored: {message}")


@click.command()
@corpus_option
@schema_option
@click.option("--allow-unreleased", is_flag=True, help="Do not count differences from the last release manifest.")
@json_option
@handle_errors
def validate(corpus_path, schema_path, allow_unreleased, as_json):
    """Check every invariant of the corpus; exit 1 when anything is wrong.

    \b
    Example:
      spanbank validate --corpus corpus/
    Each problem is printed as file:line: message.
    """
    corpus = open_corpus(corpus_path)
    schema = load_schema(schema_path)
    with progress_bar("validate") as advance:
        problems = validate_corpus(corpus, schema, advance, unreleased_ok=allow_unreleased)
    if as_json:
        emit_json([{"path": p.path, "line": p.line, "message": p.message} for p in problems])
    else:
        for p in problems:
            click.echo(str(p))
        say(f"{len(problems)} problem(s)" if problems else f"{corpus.path}: valid")
    if problems:
        sys.exit(EXIT_PROBLEMS)


@click.command()
@corpus_option
@schema_option
@click.option("--bump", type=click.Choice(release_mod.BUMPS), default="auto", show_default=True)
@click.option("--name", default=None, help="Corpus name recorded in the manifest (default: kept, or the folder name).")
@click.option("--no-git", is_flag=True, help="Do not commit and tag in git.")
@json_option
@handle_errors
def release(corpus_path, schema_path, bump, name, no_git, as_json):
    """Version the corpus: manifest, CHANGELOG.md entry and git tag corpus-vX.Y.Z.

    \b
    Example:
      spanbank release --bump auto
    auto = major when labels are removed or renamed, minor when documents or labels are added,
    patch for annotation corrections.  Refuses to release a corpus that does not validate.
    """
    corpus = open_corpus(corpus_path)
    schema = load_schema(schema_path)
    result = release_mod.release(corpus, schema, bump=bump, name=name, git=not no_git, extra=measured_agreement(corpus))
    if as_json:
        emit_json({"version": result.version, "previous": result.previous, "tag": result.git_tag,
                   "changes": result.changes.as_dict()})
    elif result.version is None:
        say(f"nothing to release: corpus is at {result.previous}")
    else:
        say(f"released {result.version}" + (f" (tagged {result.git_tag})" if result.git_tag else ""))
        click.echo(result.changelog_entry.rstrip())


def measured_agreement(corpus) -> dict:
    """Headline agreement for the manifest, when two annotators labelled a shared document."""
    try:
        return {"agreement": agreement_summary(agreement(corpus.documents()))}
    except SpanbankError:
        return {}


@click.command()
@click.argument("old")
@click.argument("new", default="corpus")
@json_option
@handle_errors
def diff(old, new, as_json):
    """What changed between two corpus versions (folders or git revisions).

    \b
    Example:
      spanbank diff corpus-v1.0.0 corpus/
      spanbank diff HEAD~1:corpus corpus/
    """
    with release_mod.corpus_at(old) as a, release_mod.corpus_at(new) as b:
        changes = release_mod.diff(a.documents(), b.documents())
    if as_json:
        emit_json(changes.as_dict())
    else:
        click.echo("\n".join(changes.summary_lines()) or "no changes")


@click.command()
@corpus_option
@json_option
@handle_errors
def stats(corpus_path, as_json):
    """Documents and annotations per set, layer and label.

    \b
    Example:
      spanbank stats --json
    """
    corpus = open_corpus(corpus_path)
    with progress_bar("stats") as advance:
        counts = release_mod.corpus_counts(corpus.documents(), advance)
    manifest = corpus.read_manifest()
    counts["version"] = manifest["version"] if manifest else None
    if as_json:
        emit_json(counts)
        return
    click.echo(f"{corpus.path}: {counts['documents']} documents, release {counts['version'] or '(none)'}")
    for set_name, layers in counts["annotations"].items():
        for layer, labels in layers.items():
            click.echo(f"  {set_name:<20} {layer:<24} " + ", ".join(f"{k}={v}" for k, v in labels.items()))


@click.group()
def schema():
    """Check the label schema or render annotation guidelines from it."""


@schema.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def schema_check(path):
    """Validate a schema file (default: schema/spanbank.yaml).

    \b
    Example:
      spanbank schema check schema/spanbank.yaml
    """
    s = load_schema(path)
    click.echo(f"{s.name} {s.version}: {len(s.entity_types)} entity types, {len(s.event_types)} event types, "
               f"{len(s.attribution_labels)} attribution labels; sha256 {s.sha256}")


@schema.command("guidelines")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write Markdown here instead of stdout.")
@handle_errors
def schema_guidelines(path, out):
    """Render annotation guidelines (Markdown) from the schema.

    \b
    Example:
      spanbank schema guidelines --out GUIDELINES.md
    """
    text = render_guidelines(load_schema(path))
    if out:
        out.write_text(text, encoding="utf-8")
        say(f"wrote {out}")
    else:
        click.echo(text)


@click.command()
@click.argument("doc_id")
@corpus_option
@schema_option
@click.option("--set", "set_name", default=None, help="Annotation set (default: gold if present, else silver).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the page here.")
@handle_errors
def show(doc_id, corpus_path, schema_path, set_name, html_path):
    """An HTML view of one document with its layers coloured as in the schema.

    \b
    Example:
      spanbank show doc-354dc6570c93f9e4 --html seed.html
    DOC_ID may be a unique prefix.  Without --html the page goes to stdout.
    """
    corpus = open_corpus(corpus_path)
    doc = find_document(corpus, doc_id)
    chosen = set_name or doc.published_set().name
    page = render_html(doc, load_schema(schema_path), chosen)
    if html_path:
        html_path.write_text(page, encoding="utf-8")
        say(f"wrote {html_path} ({doc.id}, set {chosen})")
    else:
        click.echo(page)


def find_document(corpus, doc_id: str):
    matches = [d for d in corpus.documents() if d.id.startswith(doc_id)]
    if len(matches) != 1:
        found = "no document" if not matches else f"{len(matches)} documents"
        raise CorpusError(f"{found} with id {doc_id!r}", path=str(corpus.documents_path),
                          hint="give a full id or a unique prefix (see `spanbank stats`)")
    return matches[0]


def register(main: click.Group) -> None:
    for command in (ingest, validate, release, diff, stats, schema, show):
        main.add_command(command)
