"""``spanbank run``: the main job end to end, composed from the other commands (idempotent steps)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..doccano import server
from ..store import open_corpus
from .common import creates_corpus, corpus_option, handle_errors, say


@click.command("run")
@click.option("--seeds", "seeds", type=click.Path(exists=True, path_type=Path), default=Path("seeds"), show_default=True)
@corpus_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("dist/hf"), show_default=True)
@click.option("--project", "project_name", default="spanbank", show_default=True, envvar="SPANBANK_DOCCANO_PROJECT")
@click.option("--no-serve", is_flag=True, help="Stop the local Doccano server at the end.")
@click.option("--no-git", is_flag=True, help="Release without committing and tagging in git.")
@click.pass_context
@handle_errors
@creates_corpus
def run(ctx, seeds, corpus_path, out, project_name, no_serve, no_git):
    """Ingest, pre-annotate, validate, sync with Doccano, release, build and check the dataset.

    \b
    Example:
      spanbank run                 # what scripts/run does
      spanbank run --no-serve      # stop the local Doccano server afterwards
    Uses DOCCANO_URL (+ credentials) when set, else starts a local server on 127.0.0.1.
    Every step is idempotent: re-running changes nothing that is already done.
    """
    commands = ctx.parent.command.commands

    def step(name: str, *args: str) -> None:
        _invoke(commands, name, *args)

    step("ingest", str(seeds), "--corpus", str(corpus_path))
    step("annotate", "--corpus", str(corpus_path))
    step("validate", "--corpus", str(corpus_path), "--allow-unreleased")
    remote = bool(os.environ.get("DOCCANO_URL"))
    if not remote:
        info = server.ensure_up(progress=say)
        if info.new_password:
            say(f"Doccano admin password (shown once; kept in {info.password_file}): {info.new_password}")
    step("doccano", "setup", "--project", project_name)
    step("doccano", "push", "--corpus", str(corpus_path), "--project", project_name)
    step("doccano", "pull", "--corpus", str(corpus_path), "--project", project_name)
    step("release", "--corpus", str(corpus_path), *(["--no-git"] if no_git else []))
    step("validate", "--corpus", str(corpus_path))
    step("build", "--corpus", str(corpus_path), "--out", str(out))
    from ..publish.verify import verify  # datasets loads only for the final check

    rows = verify(out)
    say("load_dataset check: " + "; ".join(f"{c} " + ", ".join(f"{s}={n}" for s, n in splits.items())
                                           for c, splits in rows.items()))
    _summary(corpus_path, out, remote, no_serve)
    if no_serve and not remote:
        server.stop()
        say("local Doccano server stopped (--no-serve)")


def _invoke(commands: dict, name: str, *args: str) -> None:
    """Run one sub-command as if typed; a non-zero exit ends the whole job with that status."""
    say(f"\n== spanbank {name} {' '.join(args)}")
    try:
        commands[name].main(list(args), prog_name=f"spanbank {name}", standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise


def _summary(corpus_path: Path, out: Path, remote: bool, no_serve: bool) -> None:
    manifest = open_corpus(corpus_path).read_manifest() or {}
    entry = (manifest.get("changelog") or [{}])[0]
    say("\n== what next")
    if remote:
        say(f"Doccano: {os.environ['DOCCANO_URL']} (your DOCCANO_* credentials)")
    else:
        info = server.local_info()
        say(f"Doccano: {info.url}  user {info.username!r}, password in {info.password_file}")
    say(f'Dataset: from datasets import load_dataset; load_dataset("{out}")  # configs: documents, ner, events, attribution')
    say(f"Release: {manifest.get('version')} ({entry.get('date')}): " + "; ".join(entry.get("summary", [])[:6]))
    if not remote and not no_serve:
        say("Stop the server: uv run spanbank doccano down")


def register(main: click.Group) -> None:
    main.add_command(run)
