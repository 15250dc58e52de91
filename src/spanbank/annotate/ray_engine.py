"""The Ray engine: ``spanbank annotate --engine ray`` runs the pre-annotation stage on a Ray cluster.

Ray enters spanbank here only, and only when this engine is asked for (``spanbank[ray]`` extra).

How a run goes:

* The driver cuts the corpus into blocks of ``batch_size`` documents (:meth:`Corpus.blocks`: one
  streaming pass that keeps byte ranges, never documents) and hands the block descriptors to a Ray
  Data pipeline.  Each block is read where it is processed (:meth:`Block.documents`), so the corpus
  folder must be at the same path on every node (shared storage); on one machine it always is.
* The workers are an actor pool (``map_batches`` with a class, ``ActorPoolStrategy``): each actor
  builds the run's :class:`~.pipeline.Stage` once (spaCy pipeline + pre-annotators, rule-based or
  trained) and runs :meth:`Stage.run` on its blocks, the same function the local engine streams
  through.  Results come back as pickled documents plus the block's :class:`AnnotateReport`.
* Actors are restarted and their blocks retried when a worker dies (``max_restarts``,
  ``max_task_retries``); a block's output counts only from the attempt that finished, so every
  document comes back exactly once.  The caller writes the stream with :meth:`Corpus.write` under
  the corpus lock (sorted by id, atomic rename), exactly as after a local run; any failure raises
  before the rename and leaves the corpus as it was.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import re
import warnings
from typing import Any, Callable, Iterator, Sequence

from ..errors import SpanbankError
from ..model import LAYERS, SILVER, Document, LabelSchema, utc_now
from ..store import Block, Corpus
from .pipeline import DEFAULT_BATCH, DEFAULT_MODEL, AnnotateReport, Settings, Stage, check_layers

DEFAULT_WORKERS = 2
INSTALL_HINT = ("install the extra: `uv sync --extra ray` in a checkout, or `pip install 'spanbank[ray]'` "
                "(or use --engine local)")


def import_ray() -> Any:
    """The ``ray`` module, or a SpanbankError saying how to install it.

    Ray's ``uv run`` hook is turned off (before Ray reads it at import): under ``uv run`` it would
    start every worker through ``uv run`` in a copy of the working folder, re-resolving the
    environment without this extra; workers use the interpreter they are given, like the driver.
    """
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise SpanbankError(f"--engine ray needs Ray, which is not installed ({exc})", value="ray",
                            hint=INSTALL_HINT) from None
    return ray


def annotate_corpus(corpus: Corpus, layers: Sequence[str] = LAYERS, model: str = DEFAULT_MODEL, force: bool = False,
                    progress: Callable[[int], None] | None = None, *, schema: LabelSchema,
                    batch_size: int = DEFAULT_BATCH, now: str | None = None, report: AnnotateReport | None = None,
                    pre_annotator: str | None = None, workers: int | None = None,
                    address: str | None = None, into: str = SILVER) -> Iterator[Document]:
    """Every document of ``corpus``, pre-annotated on Ray (any order; ids unique), like :func:`.annotate`.

    ``address``: an existing cluster (``ray start --head``, KubeRay, ``ray://...``); without it a local
    Ray instance with ``workers`` CPUs (default 2) is started and stopped, unless this process is
    already connected to one.  ``workers``: actors in the pool (default: the cluster's CPUs).
    The caller holds the corpus lock while it drains the stream.
    """
    ray = import_ray()
    settings = Settings(check_layers(layers), model, force, now or utc_now(), _absolute(pre_annotator),
                        schema, batch_size, into)
    if settings.pre_annotator is not None:
        from .trained import read_meta

        read_meta(settings.pre_annotator)  # a changed or missing folder fails here, not in every actor
    report = report if report is not None else AnnotateReport()
    here = Corpus(corpus.path.resolve())  # actors do not share the driver's working folder
    blocks = [dataclasses.asdict(b) for b in here.blocks(batch_size)]
    if not blocks:
        return
    started = _connect(ray, address, workers)
    try:
        size = workers or max(1, int(ray.cluster_resources().get("CPU", DEFAULT_WORKERS)))
        ds = ray.data.from_items(blocks, override_num_blocks=len(blocks)).map_batches(
            _worker_class(settings), batch_size=1, batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=size), num_cpus=1)  # Ray Data's actor defaults:
        # max_restarts=-1, max_task_retries=-1 (a dead actor is restarted, its block retried)
        for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=1):
            for part in batch.column("report").to_pylist():
                if part:
                    report.merge(pickle.loads(part))
            for raw in batch.column("doc").to_pylist():
                if progress:
                    progress(1)
                yield pickle.loads(raw)
    except SpanbankError:
        raise
    except Exception as exc:  # Ray wraps a worker's failure in its own exception types
        raise _unwrap(exc) from None
    finally:
        if started:
            ray.shutdown()


def _absolute(folder: str | None) -> str | None:
    from pathlib import Path

    return None if folder is None else str(Path(folder).resolve())


def _connect(ray: Any, address: str | None, workers: int | None) -> bool:
    """Connect to ``address`` or start a local instance; True when this call started Ray (so must stop it)."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"ray\.")  # Ray's advice on pool sizing, not the user's business
    if ray.is_initialized():
        return False
    try:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(address="local", num_cpus=workers or DEFAULT_WORKERS, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.WARNING)
    except Exception as exc:
        raise SpanbankError(f"cannot start or reach Ray: {type(exc).__name__}: {exc}", value=address or "local",
                            hint="check --address (e.g. ray://head:10001 or head:6379) and that the cluster runs "
                                 "Ray 2.60.0 with the same Python") from None
    return True


def _worker_class(settings: Settings) -> type:
    """The actor class: builds the run's stage once (no constructor arguments: ``settings`` travels with the class)."""

    class AnnotateBlocks:
        def __init__(self) -> None:
            from spanbank import annotate  # noqa: F401  (registers the rule-based pre-annotators)

            self.stage = Stage(settings)

        def __call__(self, batch: Any) -> Any:
            import pyarrow as pa

            docs, reports = [], []
            for desc in batch.to_pylist():
                report = AnnotateReport()
                out = [pickle.dumps(doc, protocol=5) for doc in self.stage.run(Block(**desc).documents(), report)]
                docs += out
                reports += [pickle.dumps(report, protocol=5)] + [b""] * (len(out) - 1)
            return pa.table({"doc": pa.array(docs, pa.binary()), "report": pa.array(reports, pa.binary())})

    return AnnotateBlocks


def _unwrap(exc: BaseException) -> SpanbankError:
    """The SpanbankError a worker raised, else one naming Ray's error.

    Ray re-raises a worker's exception as its own types, and the original travels only as text (the
    remote traceback): the last ``spanbank.errors.X: message`` line there is the worker's own message.
    """
    chain, todo = [], [exc]
    while todo:
        cur = todo.pop()
        if cur is None or any(cur is c for c in chain):
            continue
        if isinstance(cur, SpanbankError) and not type(cur).__module__.startswith("ray"):
            return cur
        chain.append(cur)
        todo += [getattr(cur, "cause", None), cur.__cause__, cur.__context__]
    text = "\n".join(f"{getattr(c, 'traceback_str', '')}\n{c}" for c in chain)
    found = re.findall(r"spanbank\.errors\.\w+: (.+)", text)
    if found:
        return SpanbankError(found[-1].strip())
    first = str(exc).strip().splitlines()
    return SpanbankError(f"the Ray run failed: {type(exc).__name__}: {first[0] if first else ''}",
                         hint="the corpus is unchanged; see the Ray logs (/tmp/ray/session_latest/logs) for the worker's traceback")
