"""``spanbank adjudicate``: build gold from several annotators' sets; list the disagreements."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Callable, Iterator

import click
import orjson

from .. import adjudicate as adjudicate_mod
from ..store import atomic_writer
from .agreement import annotator_option, open_existing
from .common import EXIT_PROBLEMS, corpus_option, emit_json, handle_errors, json_option, progress_bar, say

SHOWN = 10


@contextlib.contextmanager
def _sink(out: Path | None) -> Iterator[Callable[[adjudicate_mod.Disagreement], None]]:
    """Write disagreements to ``out`` as JSONL (atomically), or nowhere."""
    if out is None:
        yield lambda d: None
        return
    with atomic_writer(out) as fh:
        yield lambda d: fh.write(orjson.dumps(d.as_dict(), option=orjson.OPT_SORT_KEYS) + b"\n")


@click.command("adjudicate")
@corpus_option
@click.option("--adjudicator", required=True, metavar="NAME", help="Who decides (recorded in the gold provenance).")
@click.option("--strategy", type=click.Choice(adjudicate_mod.STRATEGIES), default="unanimous", show_default=True,
              help="unanimous: what every annotator marked; majority: what more than half marked.")
@annotator_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the disagreements here (JSONL) for the adjudicator to decide.")
@click.option("--decisions", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The --out file with \"accept\": true|false added to lines; applied over the rule.")
@click.option("--force", is_flag=True, help="Replace an existing gold set that differs (default: keep it, exit 1).")
@json_option
@handle_errors
def adjudicate_cmd(corpus_path, adjudicator, strategy, annotators, out, decisions, force, as_json):
    """Build the gold set from the annotators' sets; list the disagreements for the adjudicator.

    \b
    Example:
      spanbank adjudicate --adjudicator carol --out disagreements.jsonl
      spanbank adjudicate --adjudicator carol --strategy majority
      spanbank adjudicate --adjudicator carol --decisions disagreements.jsonl --out remaining.jsonl
    An existing gold set that differs is kept (exit 1) unless --force.
    """
    corpus = open_existing(corpus_path)
    chosen = adjudicate_mod.load_decisions(decisions) if decisions else None
    report = adjudicate_mod.AdjudicationReport()
    shown: list[adjudicate_mod.Disagreement] = []
    with corpus.lock(), progress_bar("adjudicate") as advance, _sink(out) as write:
        def docs():
            for doc, found in adjudicate_mod.adjudicate(
                    corpus.documents(), adjudicator=adjudicator, annotators=list(annotators) or None,
                    strategy=strategy, decisions=chosen, force=force, report=report, progress=advance):
                for d in found:
                    write(d)
                    if len(shown) < SHOWN:
                        shown.append(d)
                yield doc
        corpus.write(docs())
    _report(report, shown, out, as_json)
    if report.conflicts:
        sys.exit(EXIT_PROBLEMS)


def _report(report: adjudicate_mod.AdjudicationReport, shown: list, out: Path | None, as_json: bool) -> None:
    if as_json:
        emit_json(report.as_dict())
    else:
        say(f"{report.documents} document(s) adjudicated ({report.strategy}) by {report.adjudicator}: "
            f"gold written for {report.written}, unchanged for {report.unchanged}; accepted {report.spans} spans, "
            f"{report.events} events, {report.attributions} attributions; {report.disagreements} disagreement(s)"
            + (f", {report.decisions_used} decided by the decisions file" if report.decisions_used else ""))
        for d in shown if out is None else []:
            say(f"disagreement: {d.doc} {d.layer} [{d.start}, {d.end}) {d.text!r} {d.kind} {d.label}: "
                f"marked by {', '.join(d.votes)} of {', '.join(d.annotators)} -> {'accepted' if d.accepted else 'rejected'}")
        if out is None and report.disagreements > len(shown):
            say(f"... {report.disagreements - len(shown)} more; use --out FILE to list them all for decisions")
        if out is not None:
            say(f"disagreements written to {out}; add \"accept\": true|false and re-run with --decisions {out}")
        for doc_id in report.overwritten:
            say(f"overwritten (--force): gold set of {doc_id}")
    for doc_id in report.conflicts:
        say(f"conflict: {doc_id} already has a different gold set; kept it (re-run with --force to replace it)")


def register(main: click.Group) -> None:
    main.add_command(adjudicate_cmd)
