"""Doccano fault cases (issue 16) against a real local Doccano 1.8.4 server: kill, hang and concurrency.

``CASES`` is a list of callables; each runs one case and returns a :class:`Row` (case, expected,
observed, ok).  Every case is bounded (timeouts on every wait) and stops by itself.  The first case
run starts one server in a temporary state folder (the install in .spanbank/doccano, or
$SPANBANK_DOCCANO_TOOLS, is reused); it is stopped, by its PIDs, when the process exits.

Usage:  uv run python benchmarks/faults_doccano.py      (prints the table; exit 1 when a case fails)
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, NamedTuple

import orjson
import psutil

from spanbank.doccano import merge, server
from spanbank.doccano import project as projects
from spanbank.doccano import pull as pulling
from spanbank.doccano import push as pushing
from spanbank.doccano.journal import journal_path
from spanbank.doccano.client import TOTAL_TIMEOUT, DoccanoClient
from spanbank.errors import SyncError
from spanbank.model import AnnotationSet, Document, Provenance, Span, document_id
from spanbank.schema import load_schema
from spanbank.store import open_corpus

ROOT = Path(__file__).resolve().parents[1]
PROV = Provenance("faults.v1", "silver", "2026-01-01T00:00:00Z", "machine")
BOUND = 30.0  # seconds within which a dead worker or a silent server must fail
SPANBANK = str(Path(sys.executable).with_name("spanbank"))


class Row(NamedTuple):
    case: str
    expected: str
    observed: str
    ok: bool


# --- set-up shared by the cases ------------------------------------------------------------------


class _Env:
    """One server for all cases, started on first use, stopped at exit."""

    tmp: Path | None = None
    state: Path | None = None

    @classmethod
    def get(cls) -> tuple[Path, Path]:
        if cls.state is None:
            os.environ.setdefault("SPANBANK_DOCCANO_TOOLS", str(ROOT / ".spanbank" / "doccano"))
            cls.tmp = Path(tempfile.mkdtemp(prefix="faults-doccano-"))
            cls.state = cls.tmp / "doccano"
            atexit.register(cls.close)
            server.ensure_up(cls.state)
        return cls.tmp, cls.state

    @classmethod
    def close(cls) -> None:
        if cls.state is not None:
            server.stop(cls.state)
            shutil.rmtree(cls.tmp, ignore_errors=True)
            cls.state = None


def _client(state: Path, **options) -> DoccanoClient:
    info = server.local_info(state)
    return DoccanoClient.login(info.url, info.username, info.password(), worker=server.LocalWorker(state), **options)


def _docs(n: int, tag: str) -> list[Document]:
    out = []
    for i in range(n):
        text = f"Report {tag} {i}: Alice met Bob in Paris on Monday.\n\nOfficials said nothing more about it."
        spans = tuple(Span(f"s{k}", text.index(w), text.index(w) + len(w), w, label, "entities", PROV)
                      for k, (w, label) in enumerate((("Alice", "PER"), ("Bob", "PER"), ("Paris", "GPE"))))
        out.append(Document(document_id(text), text).with_set(AnnotationSet("silver", spans)))
    return out


def _corpus(name: str, docs: list[Document]):
    tmp, _ = _Env.get()
    corpus = open_corpus(tmp / name)
    with corpus.lock():
        corpus.write(docs)
    return corpus


def _project(client: DoccanoClient, prefix: str) -> dict:
    name = f"{prefix}-{time.time_ns() % 10**9}"
    projects.ensure_project(client, load_schema(), name)
    return projects.require_project(client, name)


def _copies(client: DoccanoClient, project: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ex in client.examples(project["id"]):
        counts[ex["meta"]["spanbank_id"]] = counts.get(ex["meta"]["spanbank_id"], 0) + 1
    return counts


def _once(client: DoccanoClient, project: dict, docs: list[Document]) -> str:
    copies = _copies(client, project)
    extra = sum(c - 1 for c in copies.values())
    missing = len([d for d in docs if d.id not in copies])
    return f"{len(copies)} of {len(docs)} documents on the server, {extra} duplicate(s), {missing} missing"


def _kill_tree(pid: int) -> None:
    proc = psutil.Process(pid)
    children = proc.children(recursive=True)
    proc.kill()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs([proc, *children], timeout=10)


def _cli_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCANO_")}
    env["SPANBANK_STATE"] = str(tmp)
    return env


# --- the cases -----------------------------------------------------------------------------------


def kill_worker_mid_push() -> Row:
    """SIGKILL the task worker (by PID) after the first chunk of a push; then restart and push again."""
    _, state = _Env.get()
    docs = _docs(15, "worker")
    corpus = _corpus("c-worker", docs)
    killed: list[int] = []

    killed_at: list[float] = []

    def kill(_n: int) -> None:
        if not killed:
            killed.append(server.running_pid(state, "worker"))
            _kill_tree(killed[0])
            killed_at.append(time.monotonic())

    with _client(state) as client:
        project = _project(client, "fault-worker")
        try:
            pushing.push(client, project, corpus, state=state, schema=load_schema(), chunk_size=5, progress=kill, task_timeout=120)
            outcome = "push finished (not expected)"
            failed = False
        except SyncError as exc:
            outcome, failed = str(exc)[:90], "is not running" in str(exc) and "spanbank doccano up" in str(exc)
        elapsed = time.monotonic() - killed_at[0] if killed_at else float("inf")
        server.ensure_up(state)
        pushing.push(client, project, corpus, state=state, schema=load_schema(), chunk_size=5, task_timeout=120)
        once = _once(client, project, docs)
    return Row("kill worker mid-push", f"fails < {BOUND:.0f} s saying what to do; resumed push: each document once",
               f"failed {elapsed:.1f} s after the kill: {outcome}...; resumed: {once}",
               failed and elapsed < BOUND and once.endswith("0 duplicate(s), 0 missing"))


def silent_server() -> Row:
    """A loopback socket that accepts connections and never answers."""
    sock = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(sock.accept()[0])

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    try:
        with DoccanoClient(url, "token") as client:
            list(client.projects())
        outcome, failed = "answered (not expected)", False
    except SyncError as exc:
        outcome, failed = str(exc)[:80], "no answer within" in str(exc)
    finally:
        sock.close()
        for conn in accepted:
            conn.close()
    elapsed = time.monotonic() - started
    return Row("silent server", f"fails < {BOUND:.0f} s (one bounded attempt of {TOTAL_TIMEOUT:.0f} s)",
               f"failed after {elapsed:.1f} s, {len(accepted)} connection(s): {outcome}...",
               failed and elapsed < BOUND and len(accepted) == 1)


def concurrent_import_during_pull() -> Row:
    """`spanbank import --format brat` attaches a gold set while a pull reads the server's labels."""
    tmp, state = _Env.get()
    (doc,) = _docs(1, "import")
    corpus = _corpus("c-import", [doc])
    folder = tmp / "brat-import"
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_text(doc.text, encoding="utf-8")
    start = doc.text.index("Monday")
    (folder / "a.ann").write_text(f"T1\tTIME {start} {start + 6}\tMonday\n", encoding="utf-8")
    imported: list[subprocess.CompletedProcess] = []

    def import_now(request) -> None:  # the pull has read the document and now asks for its labels
        if request.url.path.endswith("/spans") and not imported:
            imported.append(subprocess.run([SPANBANK, "import", "--format", "brat", str(folder), "--corpus",
                                            str(corpus.path)], capture_output=True, text=True, timeout=120,
                                           env=_cli_env(tmp)))

    with _client(state) as client:
        project = _project(client, "fault-import")
        pushing.push(client, project, corpus, state=state, schema=load_schema())
        example = next(client.examples(project["id"]))
        name, password = f"ann{time.time_ns() % 10**9}", f"pw-{time.time_ns()}"
        client.add_member(project["id"], client.create_user(name, password)["id"])
        with DoccanoClient.login(client.url, name, password) as annotator:  # touched: the pull reads its labels
            annotator.toggle_confirmed(project["id"], example["id"])
        client._http.event_hooks["request"] = [import_now]
        report = merge.commit(corpus, pulling.read(client, project, corpus, load_schema()))
    gold = next(corpus.documents()).annotations.get("gold")
    kept = gold is not None and [(s.text, s.label) for s in gold.spans] == [("Monday", "TIME")]
    ran = bool(imported) and imported[0].returncode == 0
    flagged = report.changed_during_pull == report.conflicts == [doc.id]
    return Row("concurrent import during pull", "the imported gold set survives; the document is reported as "
               "changed during the pull (a conflict: its pushed set changed)",
               f"import {'ran' if ran else 'did not run'} during the pull; gold set {'kept' if kept else 'LOST'}; "
               f"changed during pull: {len(report.changed_during_pull)}, conflicts: {len(report.conflicts)}",
               ran and kept and flagged)


def killed_push_resumes() -> Row:
    """SIGKILL a `spanbank doccano push` process after its first chunk; push again."""
    tmp, state = _Env.get()
    docs = _docs(700, "resume")
    corpus = _corpus("c-resume", docs)
    with _client(state) as client:
        project = _project(client, "fault-resume")
        journal = journal_path(state, client, project)
        proc = subprocess.Popen([SPANBANK, "doccano", "push", "--corpus", str(corpus.path), "--project",
                                 project["name"], "--chunk-size", "100"], env=_cli_env(tmp),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and b'"done"' in journal.read_bytes():
                break
            time.sleep(0.05)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        left = [p.name for p in state.glob(".push-*")]
        report = pushing.push(client, project, corpus, state=state, schema=load_schema(), chunk_size=100, task_timeout=120)
        once = _once(client, project, docs)
    after = [p.name for p in state.glob(".push-*")]
    return Row("killed push resumes", "each document once; chunk folders removed, journal kept",
               f"killed after first chunk: {killed}; left {len(left)} chunk folder(s); resumed: {report.uploaded} "
               f"uploaded, {report.already_on_server} already there; {once}; chunk folders after: {len(after)}",
               killed and once.endswith("0 duplicate(s), 0 missing") and not after and journal.exists())


def concurrent_pushes() -> Row:
    """Two `spanbank doccano push` processes to one project at the same time."""
    tmp, state = _Env.get()
    docs = _docs(300, "twice")
    corpus = _corpus("c-twice", docs)
    with _client(state) as client:
        project = _project(client, "fault-twice")
        cmd = [SPANBANK, "doccano", "push", "--corpus", str(corpus.path), "--project", project["name"]]
        procs = [subprocess.Popen(cmd, env=_cli_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(2)]
        outputs = [p.communicate(timeout=300)[0] for p in procs]
        codes = sorted(p.returncode for p in procs)
        once = _once(client, project, docs)
    refused = sum("another push to Doccano project" in out for out in outputs)
    return Row("concurrent pushes", "one uploads, the other is refused; each document once",
               f"exit codes {codes}, refused {refused}; {once}",
               codes == [0, 1] and refused == 1 and once.endswith("0 duplicate(s), 0 missing"))


CASES: list[Callable[[], Row]] = [kill_worker_mid_push, silent_server, concurrent_import_during_pull,
                                  killed_push_resumes, concurrent_pushes]


def run_case(case: Callable[[], Row]) -> Row:
    """A case's row; an unexpected exception is a failed row, not a crash of the whole table."""
    try:
        return case()
    except Exception as exc:  # noqa: BLE001 (reported in the table)
        return Row(case.__name__.replace("_", " "), (case.__doc__ or "").strip().splitlines()[0],
                   f"crashed: {type(exc).__name__}: {str(exc)[:200]}", False)


def main() -> int:
    rows = []
    try:
        for case in CASES:
            started = time.monotonic()
            rows.append(run_case(case))
            print(f"{rows[-1].case}: {'ok' if rows[-1].ok else 'FAILED'} ({time.monotonic() - started:.0f} s)",
                  file=sys.stderr)
    finally:
        _Env.close()
    widths = [max(len(str(r[i])) for r in [Row("case", "expected", "observed", "ok"), *rows]) for i in range(3)]
    print(f"{'case':{widths[0]}} | {'ok':4} | {'expected':{widths[1]}} | observed")
    print("-" * (widths[0] + widths[1] + 12 + 40))
    for r in rows:
        print(f"{r.case:{widths[0]}} | {'ok' if r.ok else 'FAIL':4} | {r.expected:{widths[1]}} | {r.observed}")
    print(orjson.dumps({"cases": len(rows), "failed": sum(not r.ok for r in rows)}).decode())
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
