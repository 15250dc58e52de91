"""Files written as one commit: temp files beside the targets, fsynced, renamed into place under a journal.

A single file (:func:`atomic_writer`) is written to a temp file and renamed over the old one; several
files of one folder (:func:`atomic_files`) are renamed under a journal (``.commit``) that the next
writer rolls forward (:func:`spanbank.store.recover`), so a run killed at any point leaves them all
old or all new.  Every file keeps its mode.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

import orjson

JOURNAL = ".commit"  # names the renames of a multi-file commit while they happen


def umask() -> int:
    """The process umask, read without changing it where the system tells (Linux), else by setting and restoring it."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode(path: Path) -> int:
    """The mode a rewrite of ``path`` gets: the file's own mode when it exists, else 0666 less the umask (as open() does)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~umask()


@contextlib.contextmanager
def atomic_writer(path: Path, mode: int | None = None) -> Iterator[IO[bytes]]:
    """Write to a temp file beside ``path``; rename over it only when the block succeeds.

    The file keeps its mode (``mode`` when given, else the existing file's, else 0666 less the umask):
    the temp file is created 0600 and set to that mode before the rename.
    """
    with atomic_files([path], None if mode is None else [mode]) as (fh,):
        yield fh


@contextlib.contextmanager
def atomic_files(paths: list[Path], modes: list[int] | None = None) -> Iterator[list[IO[bytes]]]:
    """Write several files of one folder as one commit (see :func:`atomic_writer` for one file and the modes).

    Each file is written to a temp file beside it; when the block succeeds, all are fsynced, a
    journal naming the renames is put in place (itself by a rename), then the files are renamed
    over the old ones and the journal removed.  A process killed during the renames leaves the
    journal, and the next writer rolls the commit forward (:func:`recover`): the files are always
    all old or all new.  A failure before the journal leaves every file as it was.
    """
    folder = paths[0].parent
    folder.mkdir(parents=True, exist_ok=True)
    modes = modes or [file_mode(p) for p in paths]
    temps: list[tuple[str, Path]] = []
    try:
        with contextlib.ExitStack() as stack:
            handles = []
            for path, mode in zip(paths, modes):
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
                temps.append((tmp, path))
                handles.append(stack.enter_context(os.fdopen(fd, "wb")))
                os.fchmod(fd, mode)
            yield handles
            for fh in handles:
                fh.flush()
                os.fsync(fh.fileno())
        if len(temps) > 1:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=f"{JOURNAL}.", suffix=".tmp", delete=False) as jfh:
                jfh.write(orjson.dumps([[Path(t).name, p.name] for t, p in temps]))
                jfh.flush()
                os.fsync(jfh.fileno())
            os.replace(jfh.name, folder / JOURNAL)
    except BaseException:
        for tmp, _ in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    for tmp, path in temps:
        os.replace(tmp, path)
    if len(temps) > 1:
        _fsync_dir(folder)
        (folder / JOURNAL).unlink()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def recover(folder: Path, names: tuple[str, ...], temp_folders: tuple[str, ...] = ()) -> list[str]:
    """Finish a commit a killed writer left in ``folder`` (its journal), remove the temp files of ``names`` and the
    ``temp_folders`` (glob patterns); the caller holds the folder's lock.  Returns what was done, for a note."""
    done = []
    journal = folder / JOURNAL
    if journal.exists():
        for tmp, name in orjson.loads(journal.read_bytes()):
            if (folder / tmp).exists():
                os.replace(folder / tmp, folder / name)
                done.append(f"finished the interrupted write of {name}")
        _fsync_dir(folder)
        journal.unlink()
    stale_files = [p for name in names for p in folder.glob(f".{name}.*.tmp")] + list(folder.glob(f"{JOURNAL}.*.tmp"))
    for stale in stale_files:
        stale.unlink(missing_ok=True)
        done.append(f"removed {stale.name}")
    for pattern in temp_folders:
        for stale in folder.glob(pattern):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
                done.append(f"removed {stale.name}")
    return done
