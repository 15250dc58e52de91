"""The one JSONL reader: ``(line number, record)`` pairs, with errors that name file:line and the fix.

Every JSONL file spanbank reads (corpus files, journals, ingest input, decisions, Doccano exports)
goes through :func:`read` so that a bad line is always reported the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from .errors import CorpusError, SpanbankError

FIX = "restore the file from git or fix the line"


def read(
    path: Path,
    on_error: Callable[[int, str], None] | None = None,
    *,
    error: type[SpanbankError] = CorpusError,
    hint: str = FIX,
    missing_ok: bool = True,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for every non-blank line of ``path``.

    A line that is not a JSON object raises ``error`` naming file:line:offset (offset: the
    character of the line where parsing failed), or, with ``on_error``, is reported to it as
    ``(line, message)`` and skipped (how the validator collects every problem).  A missing file
    reads as empty unless ``missing_ok`` is false.
    """
    if missing_ok and not path.exists():
        return
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            offset = None
            try:
                rec = orjson.loads(raw)
                problem = None if isinstance(rec, dict) else f"record is not a JSON object: {rec!r:.60}"
            except orjson.JSONDecodeError as exc:
                problem = f"not valid JSON: {exc.msg} (character {exc.pos} of the line)"
                offset = exc.pos
            if problem is None:
                yield lineno, rec
            elif on_error is None:
                raise error(problem, path=str(path), line=lineno, offset=offset, hint=hint)
            else:
                on_error(lineno, problem)
