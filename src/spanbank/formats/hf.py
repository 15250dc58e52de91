"""A built Hugging Face dataset (a local Hub-layout folder or a Hub id) read back as imported documents.

The ``documents`` config carries everything a corpus needs: text, boundaries, origin and the
published set (``gold``, else ``silver``) with its provenance.  Each row comes back as a segmented
document holding that one set under its published name; a document published without annotations
comes back bare (it is added when new, and an existing document keeps its sets).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import InputError
from . import ImportOptions, Imported, ImportReport


def read_paths(paths: Iterable[str | Path], options: ImportOptions,
               report: ImportReport | None = None) -> Iterator[Imported]:
    from ..publish.readback import documents_from_dataset  # loads `datasets` only when this format is used

    for path in paths:
        try:
            docs = documents_from_dataset(path)
            first = next(docs, None)
        except Exception as exc:  # datasets raises its own (not found, offline, bad layout): name the input
            raise InputError(f"cannot load the dataset {path} ({type(exc).__name__}: {exc})", path=str(path),
                             hint="give a folder written by `spanbank build` or a Hub id you can reach") from None
        for doc in itertools.chain([first], docs) if first is not None else ():
            yield Imported(doc, f"{path} (document {doc.id})", segmented=True)
