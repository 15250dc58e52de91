"""Publish the corpus as a Hugging Face dataset (the only place ``datasets``, ``huggingface_hub`` and ``pyarrow`` enter).

- :mod:`.features`: the four configs' features, derived once from the label schema (``ner`` is a view of the ``events`` files);
- :mod:`.read`: the corpus files as Arrow, in aligned blocks of documents (explicit schemas);
- :mod:`.docs`, :mod:`.layers`, :mod:`.sentences`: one block -> the configs' tables, column by column
  (published layer: gold, else silver), with the vectorized helpers of :mod:`.arrow`;
- :mod:`.build`: hash-based splits and the streaming build of the Hub-layout folder, written by the
  shard writers of :mod:`.parquet` (content-defined chunking and the page index, as ``datasets`` does);
- :mod:`.reference`: the ``documents`` row built plainly over model objects (what the tests check the
  Arrow build against);
- :mod:`.card`: the generated ``README.md`` (YAML ``configs`` + ``dataset_info``, then the prose of
  :mod:`.sections`), with :mod:`.fields` (the Data fields section) and :mod:`.examples` (one short
  example per config);
- :mod:`.project`: the corpus's dataset configuration (license, name, citation) and the ``project/``
  files that rebuild the corpus and the Doccano project (schema, guidelines, history, NOTICE);
- :mod:`.readback`: a built dataset -> documents (the round trip);
- :mod:`.upload`: the refusals, then ``create_repo`` / ``upload_folder`` / ``create_tag``.
"""

from .build import DEFAULT_RATIOS, BuildReport, build, parse_ratios, split_of
from .features import CONFIGS, SPLITS, dataset_features
from .readback import document_from_row, documents_from_dataset
from .upload import PublishPlan, plan, publish

__all__ = [
    "CONFIGS", "DEFAULT_RATIOS", "SPLITS", "BuildReport", "PublishPlan", "build", "dataset_features",
    "document_from_row", "documents_from_dataset", "parse_ratios", "plan", "publish", "split_of",
]
