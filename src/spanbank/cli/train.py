"""``spanbank train``: learn pre-annotators from the corpus's human sets, gated on held-out gold."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from ..errors import CorpusError, SpanbankError
from ..schema import load_schema
from ..store import open_corpus
from .common import EXIT_PROBLEMS, corpus_option, emit_json, handle_errors, json_option, progress_bar, say, schema_option


@click.command("train")
@corpus_option
@schema_option
@click.option("--layers", default="entities", show_default=True, help="Comma-separated layers to train.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the trained pre-annotator to (only when it beats the current one).")
@click.option("--base", default=None, help="Base spaCy pipeline (default: the pinned en_core_web_sm).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same data + seed = same model).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Passes over the training documents (default: 12 for a few dozen documents, down to 3 for 80 or more).")
@click.option("--partial-gold", is_flag=True,
              help="The gold marks only some mentions (e.g. GUM): where it is silent, the base model's own "
                   "entities stay targets instead of being taught as 'no entity'.")
@click.option("--current", "current", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="The trained pre-annotator in use, which the new one must beat on dev (default: the rule-based ones).")
@click.option("--force", is_flag=True, help="Write DIR even when the trained model is not better (and replace an existing DIR).")
@json_option
@handle_errors
def train_command(corpus_path: Path, schema_path: Path | None, layers: str, out: Path, base: str | None, seed: int,
                  epochs: int | None, partial_gold: bool, current: Path | None, force: bool, as_json: bool) -> None:
    """Train pre-annotators on the corpus's human sets; write DIR only when they beat the current ones on dev gold.

    \b
    Example:
      spanbank train --corpus corpus/ --layers entities,events --out models/round-3
      spanbank annotate --corpus corpus/ --pre-annotator models/round-3 --force
    """
    from ..annotate import check_layers
    from ..train import train

    try:
        wanted = check_layers(layers.split(","))
    except SpanbankError as exc:
        raise click.BadParameter(str(exc), param_hint="--layers") from None
    schema = load_schema(schema_path)
    corpus = open_corpus(corpus_path)
    if not corpus.exists():
        raise CorpusError("no corpus here", path=str(corpus_path), hint="run `spanbank ingest ARTICLES` first")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: the temporary folder is removed
    with progress_bar("training (epochs x layers)") as advance:
        def progress(stage: str, done: int, total: int) -> None:
            if stage == "training":
                advance(1)
            elif done == 0:
                say(f"{stage} ...")
        result = train(corpus, wanted, out, schema=schema, base=base, seed=seed, force=force, partial_gold=partial_gold,
                       epochs=epochs, progress=progress, current=current)
    if as_json:
        emit_json(result.as_dict())
    else:
        _print(result)
    if not result.better and not force:
        say(f"not written: the trained pre-annotator is not better than the current one on dev; {out} untouched "
            "(--force writes it anyway)")
        sys.exit(EXIT_PROBLEMS)


def _print(result) -> None:
    meta, training = result.meta, result.meta["training"]
    say(f"trained {meta['settings']['epochs']} epochs on {training['train_documents']} documents "
        f"(human sets: {training['human_sets']}); "
        f"dev {training['dev_documents']}; {training['test_split_documents_held_out']} test-split documents held out")
    small = [f"{lay} {n}" for lay, n in training["dev_documents"].items() if n < 3]
    if small:
        say(f"warning: few dev documents ({', '.join(small)}): the gate's verdict rests on little evidence; "
            "annotate more documents before trusting it")
    for layer, g in meta["gate"].items():
        if not g["documents"]:
            click.echo(f"{layer}: {g['reason']}")
            continue
        click.echo(f"{layer} ({g['documents']} dev documents, {g['headline']}): current {g['current_f1']:.3f}, "
                   f"trained {g['trained_f1']:.3f} -> {'better' if g['better'] else 'NOT better'}")
        level = g["headline"].split()[0]
        for name in ("current", "trained"):
            e, o = (g[name][level][k]["ALL"] for k in ("exact", "overlap"))
            click.echo(f"  {name:<8} exact P {e['precision']:.3f} R {e['recall']:.3f} F1 {e['f1']:.3f}   "
                       f"overlap P {o['precision']:.3f} R {o['recall']:.3f} F1 {o['f1']:.3f}")
    if result.written:
        click.echo(f"wrote {result.out} (agents: {', '.join(meta['agents'].values())})")


def register(main: click.Group) -> None:
    main.add_command(train_command)
