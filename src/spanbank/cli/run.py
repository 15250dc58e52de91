"""``spanbank run``: the main job end to end (idempotent steps).

Each step calls what its command does, as a function with typed arguments (``ingest_articles``,
``annotate_documents``, ...), not the click command with an argv; the Doccano steps call the
``spanbank doccano`` commands' functions.  A step that finds problems ends the job with its status.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..doccano import server
from ..doccano.push import DEFAULT_CHUNK
from ..model import LabelSchema
from ..schema import load_schema
from ..store import open_corpus
from . import doccano as doccano_cli
from .annotate import annotate_documents
from .build import build_dataset
from .common import creates_corpus, corpus_option, handle_errors, progress_bar, say
from .ingest import ingest_articles
from .release import release_corpus
from .validate import check_corpus


@click.command("run")
@click.option("--seeds", "seeds", type=click.Path(exists=True, path_type=Path), default=Path("seeds"), show_default=True)
@corpus_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("dist/hf"), show_default=True)
@click.option("--project", "project_name", default="spanbank", show_default=True, envvar="SPANBANK_DOCCANO_PROJECT")
@click.option("--no-serve", is_flag=True, help="Stop the local Doccano server at the end.")
@click.option("--no-git", is_flag=True, help="Release without committing and tagging in git.")
@click.option("--loop", is_flag=True,
              help="Run the correction loop instead: doccano pull -> train -> annotate -> doccano push --refresh-silver.")
@click.option("--layers", default="entities", show_default=True, help="--loop: the layers to train.")
@click.option("--models", "models_path", type=click.Path(file_okay=False, path_type=Path), default=Path("models"),
              show_default=True, help="--loop: where trained pre-annotators (round-<hash>/) and the 'current' marker live.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="--loop: training epochs (default: train's).")
@handle_errors
@creates_corpus
def run(seeds, corpus_path, out, project_name, no_serve, no_git, loop, layers, models_path, epochs):
    """Ingest, pre-annotate, validate, sync with Doccano, release, build and check the dataset.

    \b
    Example:
      spanbank run                 # what scripts/run does
      spanbank run --no-serve      # stop the local Doccano server afterwards
      spanbank run --loop --layers entities,events   # learn from the annotators' corrections
    Uses DOCCANO_URL (+ credentials) when set, else starts a local server on 127.0.0.1.
    Every step is idempotent: re-running changes nothing that is already done.

    \b
    --loop: pull the annotators' labels; train on the human sets unless these exact labels were
    trained on before (MODELS/round-<hash>/ accepted, or .refused.json); a model the gate refuses
    is a normal outcome: the current pre-annotator stays (MODELS/current, else the rule-based ones);
    annotate (with --force and the new pre-annotator when one was accepted, else only what lacks
    silver); push new documents least-confident first and refresh the silver of the examples no
    human touched.  A second run with no new human labels changes nothing.
    """
    schema = load_schema()
    corpus = ["--corpus", str(corpus_path)]
    if loop:
        _ensure_server()
        _loop(schema, corpus_path, project_name, layers, models_path, epochs)
        return
    _step("ingest", lambda: ingest_articles([seeds], corpus_path), str(seeds), *corpus)
    _step("annotate", lambda: annotate_documents(corpus_path, schema), *corpus)
    _step("validate", lambda: check_corpus(corpus_path, schema, allow_unreleased=True), *corpus, "--allow-unreleased")
    remote = _ensure_server()
    _doccano_steps(corpus_path, project_name)
    _step("release", lambda: release_corpus(corpus_path, schema, git=not no_git), *corpus,
          *(["--no-git"] if no_git else []))
    _step("validate", lambda: check_corpus(corpus_path, schema), *corpus)
    _step("build", lambda: build_dataset(corpus_path, out), *corpus, "--out", str(out))
    from ..publish.verify import verify  # datasets loads only for the final check

    rows = verify(out)
    say("load_dataset check: " + "; ".join(f"{c} " + ", ".join(f"{s}={n}" for s, n in splits.items())
                                           for c, splits in rows.items()))
    _summary(corpus_path, out, remote, no_serve)
    if no_serve and not remote:
        server.stop()
        say("local Doccano server stopped (--no-serve)")


def _step(name: str, call, *args: str) -> None:
    """One step, headed as the command that does it alone would be typed."""
    say(f"\n== spanbank {name} {' '.join(args)}")
    call()


def _doccano_steps(corpus_path: Path, project_name: str) -> None:
    project = ["--project", project_name]
    _step("doccano", lambda: _setup(project_name), "setup", *project)
    _step("doccano", lambda: _push(corpus_path, project_name), "push", "--corpus", str(corpus_path), *project)
    _step("doccano", lambda: _pull(corpus_path, project_name), "pull", "--corpus", str(corpus_path), *project)


def _setup(project_name: str) -> None:
    doccano_cli.setup.callback(project_name=project_name, schema_path=None, dataset=None, as_json=False)


def _push(corpus_path: Path, project_name: str, order: str = "corpus", refresh_silver: bool = False) -> None:
    doccano_cli.push_command.callback(corpus_path=corpus_path, project_name=project_name, schema_path=None,
                                      chunk_size=DEFAULT_CHUNK, order=order, refresh_silver=refresh_silver, as_json=False)


def _pull(corpus_path: Path, project_name: str) -> None:
    doccano_cli.pull_command.callback(corpus_path=corpus_path, project_name=project_name, schema_path=None,
                                      only_approved=False, force=False, as_json=False)


def _ensure_server() -> bool:
    """Start the local server unless DOCCANO_URL names a remote one; whether it is remote."""
    if os.environ.get("DOCCANO_URL"):
        return True
    info = server.ensure_up(progress=say)
    if info.new_password:
        say(f"Doccano admin password (shown once; kept in {info.password_file}): {info.new_password}")
    return False


def _loop(schema: LabelSchema, corpus_path: Path, project_name: str, layers: str, models_path: Path, epochs: int | None) -> None:
    """pull -> train (gated; skipped for labels already learned from) -> annotate -> push --refresh-silver."""
    from ..annotate import check_layers
    from ..loop import Models, human_key

    wanted = check_layers(layers.split(","))
    _step("doccano", lambda: _pull(corpus_path, project_name), "pull", "--corpus", str(corpus_path),
          "--project", project_name)
    corpus, models = open_corpus(corpus_path), Models(models_path)
    key, new_model = human_key(corpus, wanted), None
    say(f"\n== train ({', '.join(wanted)})")
    if key is None:
        say("no human annotation of these layers yet: nothing to learn from; keeping the current pre-annotator")
    elif models.seen(key):
        say(f"already trained on these human labels ({models.seen(key)}: "
            f"{models.round_dir(key) if models.seen(key) == 'accepted' else models.refused_file(key)}); not retrained")
    else:
        new_model = _train_round(corpus, wanted, models, key, epochs, schema)
    current = models.current()
    say(f"pre-annotator in use: {current or 'the rule-based pre-annotators'}")
    args = ["--corpus", str(corpus_path), *(["--pre-annotator", str(current)] if current else [])]
    _step("annotate", lambda: annotate_documents(corpus_path, schema, pre_annotator=current, force=bool(new_model)),
          *args, *(["--force"] if new_model else []))
    _step("doccano", lambda: _push(corpus_path, project_name, "uncertainty", refresh_silver=True), "push",
          "--corpus", str(corpus_path), "--project", project_name, "--order", "uncertainty", "--refresh-silver")


def _train_round(corpus, layers, models, key: str, epochs: int | None, schema: LabelSchema) -> Path | None:
    """Train on the current human labels; the accepted folder becomes current (None when the gate refuses)."""
    from ..train import train

    out = models.round_dir(key)
    with progress_bar("training (epochs x layers)") as advance:
        result = train(corpus, layers, out, schema=schema, epochs=epochs, current=models.current(),
                       progress=lambda stage, done, total: advance(1) if stage == "training" else None)
    for layer, g in result.meta.get("gate", {}).items():
        say(f"{layer}: " + (g["reason"] if not g["documents"] else
                            f"current {g['current_f1']:.3f}, trained {g['trained_f1']:.3f} on {g['documents']} dev documents"))
    if not result.written:
        models.record_refusal(key, result.meta.get("gate", {}))
        say(f"the gate refused the trained model (not better on dev); keeping the current pre-annotator "
            f"(recorded in {models.refused_file(key)})")
        return None
    models.set_current(out)
    say(f"accepted: {out} is now the current pre-annotator")
    return out


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
