"""Fault campaign: kill -9 mid-write, concurrent writers and corrupted files, against the real CLI.

    scripts/bench faults [--doccano] [--quick]

Every case runs the installed ``spanbank`` command in its own temp folder, bounded by a timeout,
and checks an outcome, not a message only:

- **kill**: ``ingest``, ``annotate``, ``release`` and ``build`` are killed (SIGKILL to the process
  group) at several points of a run whose length was measured first; the corpus (or the dataset
  folder) must then be exactly as before or exactly as after a complete run (never a mix), and
  the next run must finish and leave no temp files behind;
- **concurrency**: writers started together serialize through the corpus lock (or refuse with the
  lock message): nothing any of them reported as written is lost;
- **corruption**: each damaged file (duplicated lines, bad or hand-edited manifest, NUL, BOM,
  binary file, truncated last line, bad offsets, a brat attribution with an entity SOURCE) gives
  the right ``file:line`` error, and no dataset, release or export is written.

Prints a table (case, expected, observed, ok) and a summary; exits 1 when any case fails.  With
``--doccano``, the cases of ``benchmarks/faults_doccano.py`` (``CASES``: zero-argument callables,
each returning such a row) run too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

import orjson

from spanbank.store import JOURNAL, recover

ROOT = Path(__file__).resolve().parents[1]
SPANBANK = str(Path(sys.executable).parent / "spanbank")
SEEDS = ROOT / "seeds"
GOLD = ROOT / "corpus" / "gold"
TIMEOUT = 300  # seconds, any one command
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
       "HF_DATASETS_DISABLE_PROGRESS_BARS": "1", "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "1000"}
Row = tuple[str, str, str, bool]
TIME = re.compile(rb'"time":"[^"]*"')


def spanbank(*args: object, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([SPANBANK, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=ENV)


def files(folder: Path, hidden: bool = False) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes); hidden ones (temp files, the lock) only with ``hidden``."""
    if not folder.exists():
        return {}
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if p.is_file() and (hidden or not any(part.startswith(".") for part in rel.parts)):
            out[str(rel)] = p.read_bytes()
    return out


def content(folder: Path) -> dict[str, bytes]:
    """The corpus files with provenance times blanked (two complete runs differ only there)."""
    return {k: TIME.sub(b'"time":""', v) for k, v in files(folder).items()}


def leftovers(folder: Path) -> list[str]:
    return sorted(k for k in files(folder, hidden=True) if k.rsplit("/", 1)[-1].startswith(".") and not k.endswith(".lock"))


def error_line(result: subprocess.CompletedProcess) -> str:
    text = (result.stderr + result.stdout).strip()
    return " | ".join(line.strip() for line in text.splitlines()[:3])[:240] or f"exit {result.returncode}"


# --- fixtures -------------------------------------------------------------------------------------------


def articles(path: Path, n: int, tag: str) -> Path:
    """``n`` news-like JSONL articles recombined from the seed's sentences (distinct texts per ``tag``)."""
    text = next(SEEDS.iterdir()).read_text(encoding="utf-8")
    sentences = [s.strip() + "." for s in re.split(r"\.\s", text) if len(s.split()) > 4]
    with path.open("wb") as fh:
        for i in range(n):
            picked = [sentences[(i * 7 + k * 3) % len(sentences)] for k in range(6)]
            body = " ".join(picked[:3]) + "\n\n" + " ".join(picked[3:])
            fh.write(orjson.dumps({"text": f"{tag} report {i}. {body}", "date": "2024-01-0%d" % (1 + i % 9)}) + b"\n")
    return path


class Campaign:
    def __init__(self, work: Path, quick: bool) -> None:
        self.work, self.quick = work, quick
        self.rows: list[Row] = []
        self.n_docs = 300 if quick else 1500
        self.base = work / "base"
        self._make_base()

    def _make_base(self) -> None:
        """Seeds + the seed gold (brat) + generated articles, released as 1.0.0 (no git)."""
        corpus = self.base / "corpus"
        for args in (("ingest", SEEDS), ("import", "--format", "brat", GOLD, "--annotator", "seed-annotator"),
                     ("ingest", articles(self.work / "base.jsonl", self.n_docs, "Base")), ("release", "--no-git")):
            result = spanbank(*args, "--corpus", corpus)
            if result.returncode:
                raise SystemExit(f"cannot build the base corpus: spanbank {args[0]}: {error_line(result)}")

    def copy(self, name: str) -> Path:
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(self.base, folder)
        return folder

    def add(self, case: str, expected: str, observed: str, ok: bool) -> None:
        self.rows.append((case, expected, observed, ok))
        print(f"  {'ok  ' if ok else 'FAIL'} {case}: {observed}", file=sys.stderr, flush=True)

    def run(self, name: str, func: Callable[[], None]) -> None:
        try:
            func()
        except Exception as exc:  # noqa: BLE001 - a broken case is a failed row, the campaign goes on
            self.add(name, "the case runs", f"the case itself failed: {exc!r}", False)
            traceback.print_exc(file=sys.stderr)

    # --- kill -9 -----------------------------------------------------------------------------------

    def kill_case(self, name: str, args: Callable[[Path], list], watched: Callable[[Path], Path],
                  prepare: Callable[[Path], None] | None = None) -> None:
        """Kill ``spanbank args`` at several points of its run; ``watched`` = the folder that must be before or after."""
        ref = self.copy(f"kill-{name}-ref")
        if prepare:
            prepare(ref)
        before = content(watched(ref))
        t = time.perf_counter()
        result = spanbank(*args(ref))
        duration = time.perf_counter() - t
        if result.returncode:
            self.add(f"kill -9 {name}: reference run", "completes", error_line(result), False)
            return
        after = content(watched(ref))
        points: list[float | str] = [0.5] if self.quick else [0.25, 0.5, 0.75, 0.9]
        points += ["temp", "journal"]  # the moment its first temp file, or the commit journal, appears
        for point in points:
            folder = self.copy(f"kill-{name}")
            if prepare:
                prepare(folder)
            proc = subprocess.Popen([SPANBANK, *map(str, args(folder))], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=ENV, start_new_session=True)
            t0 = time.perf_counter()
            if isinstance(point, float):
                time.sleep(point * duration)
            else:
                _wait_for(watched(folder).parent, point, proc, deadline=t0 + TIMEOUT)
            at = time.perf_counter() - t0
            finished = proc.poll() is not None
            if not finished:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            state = content(watched(folder))
            what = "as before" if state == before else "as after" if state == after else "MIXED"
            if what == "MIXED" and (watched(folder) / JOURNAL).exists():  # killed between its renames
                rolled = self.work / "rolled"
                shutil.rmtree(rolled, ignore_errors=True)
                shutil.copytree(watched(folder), rolled)
                recover(rolled)
                if content(rolled) == after:
                    what = "mid-commit: its journal rolls it forward to as after"
            if what == "MIXED":
                differ = sorted(k for k in set(state) | set(before) if state.get(k) != before.get(k)
                                and state.get(k) != after.get(k))
                what += f" ({', '.join(differ)[:100]} neither before nor after)"
            stray = leftovers(watched(folder))
            again = spanbank(*args(folder))
            final = content(watched(folder))
            rest = leftovers(watched(folder))
            ok = not what.startswith("MIXED") and again.returncode == 0 and final == after and not rest
            observed = (f"{'killed' if not finished else 'had finished'} at {at:.2f} s: {what}"
                        + (f", {len(stray)} temp file(s)" if stray else "")
                        + (f"; the next run: {'as after, clean' if final == after and not rest else 'DIFFERS'}"
                           if again.returncode == 0 else f"; the next run failed: {error_line(again)}"))
            when = f"{int(point * 100)}% of {duration:.1f} s" if isinstance(point, float) else (
                "its first temp file" if point == "temp" else "the commit journal")
            self.add(f"kill -9 {name} at {when}",
                     "before or after, never mixed; the next run completes it, no temp files", observed, ok)
            shutil.rmtree(folder, ignore_errors=True)

    def kills(self) -> None:
        more = articles(self.work / "more.jsonl", self.n_docs, "More")
        corpus = lambda f: f / "corpus"  # noqa: E731
        self.kill_case("ingest", lambda f: ["ingest", more, "--corpus", corpus(f)], corpus)
        n = 20 if self.quick else 60
        only = lambda f: _keep_first(corpus(f), n)  # noqa: E731  (annotate on a small corpus: spaCy is slow)
        self.kill_case("annotate", lambda f: ["annotate", "--corpus", corpus(f)], corpus, prepare=only)
        unreleased = lambda f: [(corpus(f) / n).unlink() for n in ("manifest.json", "CHANGELOG.md")]  # noqa: E731
        self.kill_case("release", lambda f: ["release", "--no-git", "--corpus", corpus(f)], corpus, prepare=unreleased)
        built = lambda f: f / "hf"  # noqa: E731

        def previous_build(f: Path) -> None:  # a build of the seed-only corpus is in place; the new one has all
            seed_only = f / "seed-only"
            shutil.copytree(corpus(f), seed_only)
            _keep_first(seed_only, 1)
            result = spanbank("build", "--corpus", seed_only, "--out", built(f))
            assert result.returncode == 0, error_line(result)

        self.kill_case("build", lambda f: ["build", "--corpus", corpus(f), "--out", built(f)], built,
                       prepare=previous_build)

    # --- concurrency -------------------------------------------------------------------------------

    def concurrency(self) -> None:
        folder = self.copy("concurrent")
        corpus = folder / "corpus"
        inputs = [articles(folder / f"w{i}.jsonl", 40, f"Writer{i}") for i in range(3)]
        commands = [["ingest", p, "--corpus", corpus, "--json"] for p in inputs]
        commands.append(["import", "--format", "brat", GOLD, "--annotator", "bob", "--set", "annotator/bob",
                         "--corpus", corpus, "--json"])
        commands.append(["release", "--no-git", "--corpus", corpus, "--json"])
        procs = [subprocess.Popen([SPANBANK, *map(str, c)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=ENV) for c in commands]
        outs = [p.communicate(timeout=TIMEOUT) for p in procs]
        codes = [p.returncode for p in procs]
        refused = [i for i, (p, (_, err)) in enumerate(zip(procs, outs)) if p.returncode
                   and "another spanbank process is writing" in err]
        failed = [i for i, c in enumerate(codes) if c and i not in refused]
        docs = {json.loads(line)["id"]: json.loads(line) for line in (corpus / "documents.jsonl").read_text().splitlines()}
        anns = [json.loads(line) for line in (corpus / "annotations.jsonl").read_text().splitlines()]
        lost = []
        for i in range(3):
            if codes[i] == 0:
                added = json.loads(outs[i][0])["added"]
                lost += [d for d in added if d not in docs]
        bob = sum(1 for a in anns if a["set"] == "annotator/bob")
        if codes[3] == 0 and bob != 141 + 28 + 10:
            lost.append(f"annotator/bob has {bob} records, expected 179")
        base_docs = len((self.base / "corpus" / "documents.jsonl").read_text().splitlines())
        expected_docs = base_docs + 40 * sum(1 for i in range(3) if codes[i] == 0)
        if len(docs) != expected_docs:
            lost.append(f"{len(docs)} documents, expected {expected_docs}")
        valid = spanbank("validate", "--allow-unreleased", "--corpus", corpus)
        observed = (f"{sum(c == 0 for c in codes)} of {len(codes)} succeeded, {len(refused)} refused by the lock"
                    + (f", {len(failed)} failed otherwise: {outs[failed[0]][1].strip()[:160]}" if failed else "")
                    + f"; {len(docs)} documents; " + ("nothing lost" if not lost else "LOST: " + "; ".join(lost)[:200])
                    + ("; validates" if valid.returncode == 0 else f"; INVALID: {error_line(valid)}"))
        self.add("3 ingests + brat import + release at once", "serialized by the lock (or refused with its message), "
                 "nothing lost, valid", observed, not lost and not failed and valid.returncode == 0)

        # two releases at once: one version, one "nothing to release"
        folder = self.copy("concurrent-release")
        corpus = folder / "corpus"
        assert spanbank("ingest", inputs[0], "--corpus", corpus).returncode == 0
        procs = [subprocess.Popen([SPANBANK, "release", "--no-git", "--json", "--corpus", str(corpus)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV) for _ in range(2)]
        outs = [p.communicate(timeout=TIMEOUT) for p in procs]
        versions = sorted(str(json.loads(o)["version"]) for o, _ in outs if o.strip())
        log = [c["version"] for c in json.loads((corpus / "manifest.json").read_text())["changelog"]]
        ok = versions == ["1.1.0", "None"] and log == ["1.1.0", "1.0.0"]
        self.add("2 releases at once", "one new version (1.1.0), the other: nothing to release",
                 f"versions {versions}, changelog {log}", ok)

    # --- corruption --------------------------------------------------------------------------------

    def refusal(self, case: str, damage: Callable[[Path], str], commands: list[list[str]],
                written: Callable[[Path], list[Path]] = lambda f: []) -> None:
        """Damage a copy; each command must exit 1 naming ``damage``'s place, without a traceback, writing nothing."""
        folder = self.copy("corrupt")
        corpus = folder / "corpus"
        place = damage(corpus)
        before = files(corpus)
        for command in commands:
            args = [a.replace("{out}", str(folder / "out")) for a in command]
            result = spanbank(*args, "--corpus", corpus)
            made = [str(p.relative_to(folder)) for p in [folder / "out", *written(folder)] if p.exists()]
            changed = files(corpus) != before
            ok = (result.returncode == 1 and place in (result.stderr + result.stdout) and "Traceback" not in result.stderr
                  and not made and not changed)
            text = result.stderr + result.stdout
            hit = next((line.strip() for line in text.splitlines() if place in line), None)
            observed = (f"exit {result.returncode}: {hit[:150]}" if hit else error_line(result)).replace(str(folder) + "/", "")
            if made or changed:
                observed += f" | WROTE {', '.join(made) or 'the corpus'}"
            self.add(f"{case}: {command[0]}", f"exit 1 naming {place.replace(str(folder) + '/', '')}, nothing written",
                     observed, ok)

    def corruptions(self) -> None:
        build, release, export = ["build", "--out", "{out}"], ["release", "--no-git"], ["export", "--format", "conll",
                                                                                        "--out", "{out}"]

        def dup(name: str, n: int) -> Callable[[Path], str]:
            def damage(corpus: Path) -> str:
                lines = (corpus / name).read_bytes().splitlines(keepends=True)
                (corpus / name).write_bytes(b"".join(lines[:n] + lines[n - 1:]))
                return f"{corpus / name}:{n + 1}: "
            return damage

        self.refusal("duplicated line in documents.jsonl", dup("documents.jsonl", 2), [build, release, export, ["validate"]])
        self.refusal("duplicated line in annotations.jsonl", dup("annotations.jsonl", 5), [build, release, export])

        def truncated(name: str) -> Callable[[Path], str]:
            def damage(corpus: Path) -> str:
                data = (corpus / name).read_bytes()
                (corpus / name).write_bytes(data[:-40])
                last = data.count(b"\n")
                return f"{corpus / name}:{last}: not valid JSON"
            return damage

        self.refusal("truncated last line of annotations.jsonl", truncated("annotations.jsonl"), [build, release, ["validate"]])
        self.refusal("truncated last line of documents.jsonl", truncated("documents.jsonl"), [build, release])

        def bad_manifest(corpus: Path) -> str:
            text = (corpus / "manifest.json").read_text()
            (corpus / "manifest.json").write_text(text.replace('"documents":', '"documents"', 1))
            line = text[:text.index('"documents":')].count("\n") + 1
            return f"{corpus / 'manifest.json'}:{line}:"

        self.refusal("manifest.json not valid JSON", bad_manifest, [["validate"], build, release, ["stats"]])

        def edited_manifest(corpus: Path) -> str:
            manifest = json.loads((corpus / "manifest.json").read_text())
            manifest["files"]["annotations.jsonl"] = "0" * 64
            (corpus / "manifest.json").write_text(json.dumps(manifest, indent=2))
            return "edited by hand after release 1.0.0"

        self.refusal("hand-edited manifest hash", edited_manifest, [release, build])

        def nul_text(corpus: Path) -> str:
            lines = (corpus / "documents.jsonl").read_bytes().splitlines(keepends=True)
            rec = orjson.loads(lines[0])
            rec["text"] = rec["text"][:4] + "\x00" + rec["text"][5:]
            lines[0] = orjson.dumps(rec, option=orjson.OPT_SORT_KEYS) + b"\n"
            (corpus / "documents.jsonl").write_bytes(b"".join(lines))
            return f"{corpus / 'documents.jsonl'}:1: text has a NUL character at offset 4"

        self.refusal("NUL in a stored text", nul_text, [build, release, export])

        def bad_offset(corpus: Path) -> str:
            lines = (corpus / "annotations.jsonl").read_bytes().splitlines(keepends=True)
            n = next(i for i, line in enumerate(lines) if b'"kind":"span"' in line and i >= 4)
            rec = orjson.loads(lines[n])
            rec["end"] = rec["start"] - 1
            lines[n] = orjson.dumps(rec, option=orjson.OPT_SORT_KEYS) + b"\n"
            (corpus / "annotations.jsonl").write_bytes(b"".join(lines))
            return f"{corpus / 'annotations.jsonl'}:{n + 1}: span"

        self.refusal("span offsets reversed", bad_offset, [export, build])
        self.ingest_cases()

    def ingest_cases(self) -> None:
        folder = self.copy("ingest-bad")
        corpus = folder / "corpus"
        before = files(corpus)
        nul = folder / "nul.jsonl"
        nul.write_bytes(b'{"text": "fine"}\n{"text": "a\\u0000b"}\n')
        result = spanbank("ingest", nul, "--corpus", corpus)
        place = f"{nul}:2:11: 'text' holds a NUL character"
        self.add("ingest: JSON \\u0000 escape", "exit 1 at file:line:offset, corpus unchanged",
                 error_line(result).replace(str(folder) + "/", ""),
                 result.returncode == 1 and place in result.stderr and files(corpus) == before)
        bad = folder / "bad.jsonl"
        bad.write_bytes(b'{"text": "fine"}\n{"text": "x", "date": 2024-01-01}\n')
        result = spanbank("ingest", bad, "--corpus", corpus)
        self.add("ingest: JSON syntax error", "exit 1 at file:line:offset, corpus unchanged",
                 error_line(result).replace(str(folder) + "/", ""),
                 result.returncode == 1 and f"{bad}:2:26: not valid JSON" in result.stderr and files(corpus) == before)
        src = folder / "in"
        src.mkdir()
        (src / "bom.txt").write_text("  \n\ufeffdate 2024-02-02 A report with a BOM after whitespace.", encoding="utf-8")
        (src / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
        result = spanbank("ingest", src, "--corpus", corpus, "--json")
        report = json.loads(result.stdout) if result.returncode == 0 else {}
        doc = next((json.loads(line) for line in (corpus / "documents.jsonl").read_text().splitlines()
                    if "BOM after whitespace" in line), {})
        ok_bom = doc.get("text") == "A report with a BOM after whitespace." and "strip-bom" in doc["origin"]["normalization"]
        self.add("ingest: BOM after leading whitespace", "removed, 'strip-bom' in the origin's normalization",
                 f"text {doc.get('text', '')[:30]!r}..., normalization {doc.get('origin', {}).get('normalization')}", ok_bom)
        ignored = report.get("ignored", [])
        self.add("ingest: binary file in the folder", "listed as ignored", "; ".join(ignored).replace(str(folder) + "/", "")
                 or error_line(result), len(ignored) == 1 and "photo.png" in ignored[0])
        mode = (corpus / "documents.jsonl").stat().st_mode & 0o777
        self.add("corpus rewrite keeps file modes", "documents.jsonl 0644 after ingest (umask 022)", f"{mode:04o}",
                 mode == 0o644 or mode == 0o666 & ~_umask())

        brat = folder / "brat"
        brat.mkdir()
        (brat / "a.txt").write_text("Alice said it was raining.", encoding="utf-8")
        (brat / "a.ann").write_text("T1\tPER 0 5\tAlice\nT2\tCUE 6 10\tsaid\nT3\tCONTENT 11 25\tit was raining\n"
                                    "E1\tCUE:T2 SOURCE:T1 CONTENT:T3\n", encoding="utf-8")
        before = files(corpus)
        result = spanbank("import", "--format", "brat", brat, "--corpus", corpus)
        self.add("import brat: attribution SOURCE is an entity span", "exit 1 at a.ann:4, corpus unchanged",
                 error_line(result).replace(str(folder) + "/", ""),
                 result.returncode == 1 and f"{brat / 'a.ann'}:4: attribution 'E1' source points to entities span"
                 in result.stderr and files(corpus) == before)


TEMP = re.compile(r"\A\.(documents\.jsonl|annotations\.jsonl|manifest\.json|CHANGELOG\.md|hf\.build-).*")


def _wait_for(folder: Path, what: str, proc: subprocess.Popen, deadline: float) -> None:
    """Poll ``folder`` (and its corpus/) until a store temp file (``temp``) or the commit journal appears, or the end."""
    places = [folder, folder / "corpus"]
    while proc.poll() is None and time.perf_counter() < deadline:
        for place in places:
            try:
                names = os.listdir(place)
            except FileNotFoundError:
                continue
            if any(n == ".commit" for n in names) if what == "journal" else any(TEMP.match(n) for n in names):
                return
        time.sleep(0.0005)


def _keep_first(corpus: Path, n: int) -> None:
    """Cut a corpus to its first ``n`` documents (and their annotations), without a manifest."""
    docs = (corpus / "documents.jsonl").read_bytes().splitlines(keepends=True)[:n]
    ids = {orjson.loads(line)["id"] for line in docs}
    anns = [line for line in (corpus / "annotations.jsonl").read_bytes().splitlines(keepends=True)
            if orjson.loads(line)["doc"] in ids]
    (corpus / "documents.jsonl").write_bytes(b"".join(docs))
    (corpus / "annotations.jsonl").write_bytes(b"".join(anns))
    for name in ("manifest.json", "CHANGELOG.md"):
        (corpus / name).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def doccano_cases() -> list[Callable[[], Row]]:
    path = Path(__file__).with_name("faults_doccano.py")
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location("faults_doccano", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return list(module.CASES)


def table(rows: list[Row]) -> str:
    heads = ("case", "expected", "observed", "ok")
    cells = [heads, *[(c, e, o, "ok" if k else "FAIL") for c, e, o, k in rows]]
    widths = [min(max(len(r[i]) for r in cells), cap) for i, cap in enumerate((52, 60, 110, 4))]

    def line(r):
        return "| " + " | ".join(str(v)[:w].ljust(w) for v, w in zip(r, widths)) + " |"

    return "\n".join([line(heads), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells[1:])])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--doccano", action="store_true", help="also run benchmarks/faults_doccano.py's CASES")
    parser.add_argument("--quick", action="store_true", help="fewer kill points and a smaller corpus")
    parser.add_argument("--only", choices=("kill", "concurrency", "corruption"), default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="spanbank-faults-") as tmp:
        campaign = Campaign(Path(tmp), args.quick)
        for name, func in (("kill", campaign.kills), ("concurrency", campaign.concurrency),
                           ("corruption", campaign.corruptions)):
            if args.only in (None, name):
                print(f"== {name}", file=sys.stderr, flush=True)
                campaign.run(name, func)
        rows = campaign.rows
    if args.doccano:
        for case in doccano_cases():
            try:
                rows.append(tuple(case()))  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001
                rows.append((getattr(case, "__name__", "doccano case"), "the case runs", f"failed: {exc!r}", False))
    print(table(rows))
    failed = [r for r in rows if not r[3]]
    print(f"\n{len(rows)} cases, {len(rows) - len(failed)} ok, {len(failed)} failed "
          f"({time.perf_counter() - started:.0f} s)" + ("" if args.doccano else "; Doccano cases not run (--doccano)"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
