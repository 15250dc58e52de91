"""``spanbank doccano``: run a local Doccano server and sync the corpus with it."""

from __future__ import annotations

from pathlib import Path

import click

from ..doccano import connect, merge, project, pull, push, server
from ..schema import load_schema
from ..store import open_corpus
from .common import (EXIT_PROBLEMS, corpus_option, emit_json, handle_errors, json_option, progress_bar, say,
                     schema_option)

project_option = click.option("--project", "project_name", default="spanbank", show_default=True,
                              envvar="SPANBANK_DOCCANO_PROJECT", help="Doccano project name.")


@click.group("doccano")
def doccano() -> None:
    """Label in Doccano: local server, project set-up, push and pull.

    \b
    A remote server is used instead of the local one when DOCCANO_URL and DOCCANO_USERNAME +
    DOCCANO_PASSWORD (or DOCCANO_TOKEN) are set.
    Example:  spanbank doccano up && spanbank doccano setup && spanbank doccano push
    """


@doccano.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port on 127.0.0.1: used, or refused with an error (never swapped for another).  "
                   "Default: the last one used, else 8765, else a free one.")
@handle_errors
def up(port: int | None) -> None:
    """Install (once), initialise and start the local server + task worker.  Idempotent.

    The state folder (.spanbank/doccano: database, password file, logs) is kept private: folders
    0700, files 0600.
    Example:  spanbank doccano up --port 8765
    """
    info = server.ensure_up(port=port, progress=say)
    say(f"Doccano runs at {info.url} (user {info.username!r}; password file {info.password_file})")
    if info.new_password:
        say(f"admin password (shown once; kept in the 0600 file above): {info.new_password}")


@doccano.command()
@handle_errors
def down() -> None:
    """Stop the local server and worker (only the processes `up` started, by PID).

    Example:  spanbank doccano down
    """
    stopped = server.stop()
    say(f"stopped pid(s) {', '.join(map(str, stopped))}" if stopped else "nothing of ours was running")


@doccano.command()
@json_option
@handle_errors
def status(as_json: bool) -> None:
    """Say what runs where.  Exit 1 when the local server is not answering.

    Example:  spanbank doccano status --json
    """
    info = server.status()
    if as_json:
        emit_json(info)
    else:
        for key, value in info.items():
            click.echo(f"{key:14} {value}")
    if not info["answering"]:
        raise SystemExit(EXIT_PROBLEMS)


@doccano.command()
@click.argument("component", type=click.Choice(server.COMPONENTS), default="web")
@click.option("-n", "--lines", type=int, default=50, show_default=True)
@handle_errors
def logs(component: str, lines: int) -> None:
    """Show the end of the web server's or the worker's log.

    Example:  spanbank doccano logs worker -n 100
    """
    click.echo(server.log_tail(component=component, lines=lines))


@doccano.command()
@project_option
@click.option("--schema", "schema_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--from-dataset", "dataset", default=None,
              help="Take the schema from a built dataset: a folder or a Hub id ORG/NAME (its project/schema.yaml).")
@json_option
@handle_errors
def setup(project_name: str, schema_path: Path | None, dataset: str | None, as_json: bool) -> None:
    """Create or update the project from the schema (labels, colours, keys, relations, guidelines).

    Exit 1 when the server has labels the schema lacks (drift; they are listed, not deleted).
    Example:  spanbank doccano setup --project news-2021
              spanbank doccano setup --from-dataset my-org/news-spans
    """
    if dataset is not None and schema_path is not None:
        raise click.UsageError("give --schema or --from-dataset, not both")
    if dataset is not None:
        from ..publish.project import dataset_schema  # loads the publish stack only when asked

    schema = dataset_schema(dataset) if dataset is not None else load_schema(schema_path)
    with connect() as client:
        report = project.ensure_project(client, schema, project_name)
    if as_json:
        emit_json(report.as_dict())
    else:
        say(f"project {project_name!r} (id {report.project_id}) {'created' if report.created else 'up to date'}: "
            f"{len(report.labels_created)} label(s) created, {len(report.labels_updated)} updated, "
            f"settings changed: {', '.join(report.settings_changed) or 'none'}")
    for line in report.drift:
        say(f"drift: {line}")
    if report.drift:
        raise SystemExit(EXIT_PROBLEMS)


@doccano.command("push")
@corpus_option
@project_option
@schema_option
@click.option("--chunk-size", type=click.IntRange(1), default=push.DEFAULT_CHUNK, show_default=True)
@click.option("--order", type=click.Choice(push.ORDERS), default="corpus", show_default=True,
              help="Upload order of new documents (Doccano lists examples in upload order).  'uncertainty': "
                   "least-confident first.  Confidence (heuristic, every pre-annotator): 1 minus the mean of the "
                   "doubt rates that apply - entity strings given more than one type, CUE spans without an "
                   "attribution, events without arguments, quoted passages (3+ words) no CONTENT covers; where a "
                   "trained pre-annotator made the silver, the smaller of that and the mean spancat score of its "
                   "events and attributions.  Documents with gold come last (confidence 1).")
@click.option("--refresh-silver", is_flag=True,
              help="Also replace the pre-annotations of examples already on the server with the current silver, "
                   "for every example no human touched (no label by another account than the pushing one, not "
                   "confirmed or approved by anyone).  Human-touched examples are never changed (reported).  "
                   "Resumable: a killed refresh re-run duplicates nothing.")
@json_option
@handle_errors
def push_command(corpus_path: Path, project_name: str, schema_path: Path | None, chunk_size: int, order: str,
                 refresh_silver: bool, as_json: bool) -> None:
    """Upload every document not yet in the project (bulk import, resumable, idempotent).

    \b
    Refuses a corpus that `spanbank validate` rejects (listing file:line) and a second push to the
    same project while one runs.  A killed push resumes where it stopped, without duplicates.
    Example:  spanbank doccano push --corpus corpus --project spanbank
              spanbank doccano push --order uncertainty --refresh-silver
    """
    corpus, schema = open_corpus(corpus_path), load_schema(schema_path)
    with connect() as client:
        found = project.require_project(client, project_name)
        with progress_bar("pushing", total=corpus.count()) as advance:
            report = push.push(client, found, corpus, state=server.state_dir(), schema=schema,
                               chunk_size=chunk_size, progress=advance, order=order, refresh_silver=refresh_silver)
    if as_json:
        emit_json(report.as_dict())
        return
    if report.worker_note:
        say(report.worker_note)
    say(f"uploaded {report.uploaded} document(s) in {report.chunks} chunk(s); {report.already_on_server} already "
        f"on the server; {report.duplicates_removed} duplicate(s) removed")
    if report.order and report.uploaded:
        say(f"least-confident first: {', '.join(report.order[:5])}")
    if report.refresh is not None:
        r = report.refresh
        say(f"refresh-silver: {len(r['refreshed'])} example(s) refreshed with the current silver, "
            f"{len(r['human_touched'])} kept because a human touched them, {r['unchanged']} unchanged")
        if r["human_touched"]:
            say(f"kept (human-touched): {', '.join(r['human_touched'][:5])}")
    elif report.changed_since_push:
        say(f"{len(report.changed_since_push)} document(s) changed locally since they were pushed (not re-sent; "
            f"--refresh-silver replaces the untouched ones): {', '.join(report.changed_since_push[:5])}")


@doccano.command("pull")
@corpus_option
@project_option
@schema_option
@click.option("--only-approved", is_flag=True, help="Only examples someone confirmed in Doccano.")
@click.option("--force", is_flag=True,
              help="Resolve conflicts by taking Doccano's labels for documents changed locally since their push "
                   "(recorded in doccano-resolved.jsonl; later pulls no longer report them).")
@json_option
@handle_errors
def pull_command(corpus_path: Path, project_name: str, schema_path: Path | None, only_approved: bool, force: bool,
                 as_json: bool) -> None:
    """Read annotators' labels back as annotator/<name> sets.  Exit 1 on conflicts, rejected labels or kept sets.

    \b
    Only sets made by a pull are replaced; an annotator/<name> set from elsewhere (an import) is kept
    as it is, and Doccano's labels of that name for the document are not written (rename one of them).
    A conflict is a document whose pushed set (gold, else silver) was edited locally after its push:
    it is left alone and reported.  Resolve it with `pull --force`, which takes Doccano's labels for it
    (your local gold/silver edit stays) and records that in corpus/doccano-resolved.jsonl, so later
    pulls treat it as any other document until it changes again.
    A writer that runs during a pull (e.g. an import) keeps its change: the pull merges under the lock.
    Example:  spanbank doccano pull --only-approved
    """
    corpus, schema = open_corpus(corpus_path), load_schema(schema_path)
    with connect() as client:
        found = project.require_project(client, project_name)
        with progress_bar("pulling") as advance:
            pulled = pull.read(client, found, corpus, schema, only_approved=only_approved, force=force,
                               progress=advance)
    report = merge.commit(corpus, pulled)  # under the corpus lock, into the documents as they are then
    unresolved = [d for d in report.conflicts if d not in report.resolved]
    if as_json:
        emit_json(report.as_dict())
    else:
        _say_pull(report, corpus.rounds_path, unresolved)
    if unresolved or report.rejects or report.kept_sets:
        raise SystemExit(EXIT_PROBLEMS)


def _say_pull(report: merge.PullReport, rounds_path: Path, unresolved: list[str]) -> None:
    if report.worker_note:
        say(report.worker_note)
    say(f"{report.examples} example(s) read: {len(report.updated)} document(s) updated, {report.unchanged} "
        f"unchanged; annotators: {', '.join(report.annotators) or 'none'}")
    if report.round:
        say(f"recorded as Doccano annotation round {report.round} in {rounds_path}")
    if report.changed_during_pull:
        say(f"{len(report.changed_during_pull)} document(s) changed by another writer during the pull (their change "
            f"was kept): {', '.join(report.changed_during_pull[:5])}")
    if report.resolved:
        say(f"{len(report.resolved)} conflict(s) resolved by taking Doccano's labels (recorded in "
            f"{merge.RESOLVED}): {', '.join(report.resolved[:5])}")
    if unresolved:
        say(f"{len(unresolved)} conflict(s): changed locally since the push, not updated; take Doccano's labels for "
            f"them with `spanbank doccano pull --force`: {', '.join(unresolved[:5])}")
    if report.kept_sets:
        say(f"{len(report.kept_sets)} annotator set(s) not made by a pull were kept as they are and Doccano's labels "
            f"of that name not written (rename the set or the Doccano account): {'; '.join(report.kept_sets[:5])}")
    if report.rejects:
        say(f"{len(report.rejects)} label(s) rejected, kept in {report.rejects_path}")
    if report.not_in_corpus:
        say(f"{len(report.not_in_corpus)} example(s) on the server have no document in the corpus")


def register(main: click.Group) -> None:
    main.add_command(doccano)
