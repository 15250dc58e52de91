"""``spanbank evaluate``: P/R/F1 of one annotation set against another."""

from __future__ import annotations

from pathlib import Path

import click

from .. import evaluate as evaluate_mod
from ..errors import InputError
from ..model import LAYERS
from ..store import open_corpus
from .common import emit_json, handle_errors, json_option, progress_bar


def _label_pairs(values: tuple[str, ...]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old:
            raise InputError(f"--map {value!r} is not OLD=NEW", value=value, hint="e.g. --map GPE=LOC (NEW empty drops OLD)")
        out[old] = new or None
    return out


@click.command("evaluate")
@click.option("--corpus", "corpus_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="One corpus holding both sets (same as --gold C --pred C).")
@click.option("--gold", "gold_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus holding the gold set  [default: corpus].")
@click.option("--pred", "pred_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus holding the predicted set (often the same corpus)  [default: the gold corpus].")
@click.option("--gold-set", default="gold", show_default=True, help="Annotation set taken as the truth.")
@click.option("--pred-set", default="silver", show_default=True, help="Annotation set scored.")
@click.option("--layer", "layers", multiple=True, type=click.Choice(LAYERS), help="Layer(s) to score (default: all).")
@click.option("--map", "maps", multiple=True, metavar="OLD=NEW",
              help="Rename a label on both sides before matching (repeatable; NEW empty drops OLD).")
@click.option("--partial-gold", is_flag=True,
              help="The gold is not exhaustive: score a layer only on documents whose gold set has annotations in it "
                   "(default: every gold-corpus document counts; predictions where gold has none are false positives).")
@click.option("--no-labels", is_flag=True, help="Only the ALL rows in the table.")
@json_option
@handle_errors
def evaluate_cmd(corpus_path, gold_path, pred_path, gold_set, pred_set, layers, maps, partial_gold, no_labels, as_json):
    """Precision / recall / F1 of one annotation set against another, exact and overlap matching,
    and an error breakdown per label (correct / wrong type / wrong boundary / wrong both / missed / spurious).

    \b
    Example:
      spanbank evaluate --corpus corpus --gold-set gold --pred-set silver
      spanbank evaluate --gold corpus --pred other --layer entities --map GPE=LOC --json
      spanbank evaluate --corpus corpus --partial-gold   # gold marks only some documents / layers
    """
    if corpus_path is not None and (gold_path is not None or pred_path is not None):
        raise click.UsageError("give either --corpus (one corpus holding both sets) or --gold/--pred, not both")
    gold_path = gold_path or corpus_path or Path("corpus")
    pred_path = pred_path or corpus_path or gold_path
    gold_corpus, pred_corpus = open_corpus(gold_path), open_corpus(pred_path)
    for c in (gold_corpus, pred_corpus):
        if not c.exists():
            raise InputError("no corpus here", path=str(c.path), hint="run `spanbank ingest` or give --corpus/--gold/--pred")
    with progress_bar("evaluate") as advance:
        result = evaluate_mod.evaluate(gold_corpus.documents(), pred_corpus.documents(), layers or LAYERS,
                                       gold_set, pred_set, _label_pairs(maps), advance, partial_gold=partial_gold)
    if as_json:
        emit_json(result)
    else:
        click.echo(evaluate_mod.render_table(result, labels=not no_labels))


def register(main: click.Group) -> None:
    main.add_command(evaluate_cmd)
