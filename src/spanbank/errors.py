"""The spanbank exception family.  Messages name the place, the bad value, what is allowed and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


class SpanbankError(Exception):
    """Base class: every error spanbank raises on purpose.

    ``path``/``line``/``offset`` locate the problem, ``value`` is the offending value and
    ``allowed`` what would have been accepted; ``hint`` says how to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        offset: int | None = None,
        value: object = None,
        allowed: Sequence[str] | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.offset = offset
        self.value = value
        self.allowed = list(allowed) if allowed is not None else None
        self.hint = hint
        super().__init__(str(self))

    @property
    def place(self) -> str:
        if self.path is None:
            return ""
        place = self.path
        if self.line is not None:
            place += f":{self.line}"
        if self.offset is not None:
            place += f" (byte {self.offset})" if self.line is None else f":{self.offset}"
        return place

    def __str__(self) -> str:
        text = f"{self.place}: {self.message}" if self.place else self.message
        if self.allowed is not None:
            shown = ", ".join(self.allowed[:12]) + (", ..." if len(self.allowed) > 12 else "")
            text += f" (allowed: {shown})"
        if self.hint:
            text += f"; {self.hint}"
        return text


class SchemaError(SpanbankError):
    """The label schema is malformed, or a label is not in it."""


class InputError(SpanbankError):
    """An input article or import file cannot be read."""


class CorpusError(SpanbankError):
    """The corpus store is broken, locked or inconsistent."""


class SyncError(SpanbankError):
    """Talking to Doccano failed."""


class PublishError(SpanbankError):
    """Building or publishing the dataset failed."""


class TrainError(SpanbankError):
    """Training a pre-annotator failed, or a trained pre-annotator cannot be used."""


@dataclass(frozen=True)
class Problem:
    """One validation finding: where, what, and the offending value."""

    path: str
    line: int | None
    message: str
    offset: int | None = None  # column (code points) in the line, where one is known

    @property
    def place(self) -> str:
        place = self.path if self.line is None else f"{self.path}:{self.line}"
        return place if self.offset is None or self.line is None else f"{place}:{self.offset}"

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"
