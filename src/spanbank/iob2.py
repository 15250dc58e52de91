"""IOB2 tagging, written once: spans over tokens -> tag ids (the CoNLL export and the dataset's ``ner`` /
``events`` configs both use :func:`encode`).

Tag ids follow conll2003's ``ner_tags``: ``0`` is ``O``, then ``B-X`` = ``1 + 2k`` and ``I-X`` = ``2 + 2k``
for the k-th label (:func:`tag_names` gives the names in that order).

The rule: spans are placed in order - by group (a document), start, longest first - and a span that
covers no token or overlaps a token already tagged is left out (IOB2 cannot show both; the caller
counts or reports it).  A span's first token gets ``B-``, the others ``I-``; a sentence that starts
inside a span restarts it with ``B-`` (:func:`restart`).  Spans come as token ranges ``[first, last)``:
the tokens overlapping the span's ``[start, end)`` (see :func:`token_range`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

OUTSIDE = 0


def tag_names(labels: Sequence[str]) -> list[str]:
    """``O``, then ``B-X``, ``I-X`` per label in order (the names of the ids :func:`encode` returns)."""
    names = ["O"]
    for label in labels:
        names += [f"B-{label}", f"I-{label}"]
    return names


def token_range(token_starts: np.ndarray, token_ends: np.ndarray, start: np.ndarray,
                end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``[first, last)`` of the (sorted, non-overlapping) tokens overlapping each ``[start, end)``."""
    return np.searchsorted(token_ends, start, "right"), np.searchsorted(token_starts, end, "left")


def placed(first: np.ndarray, last: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Which spans (in placing order) get tags: each must cover a token and overlap no earlier placed one.

    Token indices grow with the group, so one running maximum serves all groups; it is exact while
    nothing is skipped, and groups with a skipped span are redone one span at a time.
    """
    reach = np.maximum.accumulate(np.concatenate([[-1], last[:-1]])) if len(last) else last
    ok = (first < last) & (first >= reach)
    for g in np.unique(group[(first < last) & (first < reach)]):
        reach_g = -1
        for i in np.flatnonzero(group == g):
            ok[i] = first[i] < last[i] and first[i] >= reach_g
            if ok[i]:
                reach_g = last[i]
    return ok


def encode(n_tokens: int, first: np.ndarray, last: np.ndarray, label: np.ndarray,
           group: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Tag ids of ``n_tokens`` tokens for spans ``[first, last)`` labelled ``label`` (label ids, k-th label = k).

    The spans must be in placing order (group, start, longest first).  Returns the tags and which
    spans were placed (the others overlap a placed one or cover no token).
    """
    first, last = np.asarray(first, np.int64), np.asarray(last, np.int64)
    label = np.asarray(label, np.int64)
    ok = placed(first, last, np.zeros(len(first), np.int64) if group is None else np.asarray(group))
    first, last, label = first[ok], last[ok], label[ok]
    lengths = last - first
    tags = np.zeros(n_tokens, np.int64)
    ends = np.cumsum(lengths)
    inside = np.repeat(first - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
    tags[inside] = np.repeat(2 + 2 * label, lengths)
    tags[first] = 1 + 2 * label
    return tags, ok


def restart(tags: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``tags`` with each ``I-X`` at the positions ``at`` (sentence starts) turned into ``B-X`` (in place)."""
    at = np.asarray(at, np.int64)
    inside = (tags[at] != OUTSIDE) & (tags[at] % 2 == 0)
    tags[at[inside]] -= 1
    return tags
