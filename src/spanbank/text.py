"""Text-level pieces shared by every reader of files (ingest, the format importers): decoding,
normalization and finding files.  Imports nothing of ours but the error family.

Stored text = the file's text with every U+FEFF (BOM) removed, CRLF -> LF and Unicode NFC applied;
:func:`normalize` returns the steps that changed something (recorded in a document's origin).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Iterable

from .errors import InputError


def decode(raw: bytes, path: Path, first_line: int = 1) -> str:
    """``raw`` as UTF-8; InputError naming the file, line and offset of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + raw.count(b"\n", 0, exc.start)
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1)
        where = f"byte offset {exc.start}" if first_line == 1 else f"byte offset {col} of the line"
        raise InputError(f"not UTF-8: byte 0x{raw[exc.start]:02x} at {where}", path=str(path),
                         line=line, offset=col, value=raw[exc.start:exc.start + 1],
                         hint="re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None


def normalize(text: str) -> tuple[str, list[str]]:
    """BOM removal, CRLF -> LF, NFC; returns the text and the steps that changed something."""
    steps = []
    if "\ufeff" in text:
        text, steps = text.replace("\ufeff", ""), steps + ["strip-bom"]
    if "\r" in text:
        text, steps = text.replace("\r\n", "\n").replace("\r", "\n"), steps + ["crlf-to-lf"]
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text:
        text, steps = nfc, steps + ["nfc"]
    return text, steps


def find_files(paths: Iterable[str | Path], suffixes: Iterable[str], ignored: list[str] | None = None) -> list[Path]:
    """Files named directly, plus every file with one of ``suffixes`` below named folders, in sorted order.

    Hidden files and folders (``.git``, ``.DS_Store``) are passed over; any other file of a folder
    that is not read is listed in ``ignored`` ("path: why").
    """
    wanted = set(suffixes)
    shown = ", ".join(sorted(s or "no suffix" for s in wanted))
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if not f.is_file() or any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                if f.suffix.lower() in wanted:
                    out.append(f)
                elif ignored is not None:
                    ignored.append(f"{f}: not an article file (suffix {f.suffix}; read are: {shown})")
        elif p.exists():
            out.append(p)
        else:
            raise InputError("no such file or folder", path=str(p), hint="check the path")
    return out
