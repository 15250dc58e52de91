"""Load a built dataset folder back with ``datasets.load_dataset``, the judge of what we publish."""

from __future__ import annotations

from pathlib import Path

from datasets import get_dataset_config_names, load_dataset

from ..errors import PublishError


def verify(out: str | Path) -> dict[str, dict[str, int]]:
    """Rows per config and split as ``load_dataset`` sees them; raises PublishError when a config does not load."""
    folder = str(out)
    rows: dict[str, dict[str, int]] = {}
    for config in get_dataset_config_names(folder):
        try:
            loaded = load_dataset(folder, config)
        except Exception as exc:  # noqa: BLE001 - datasets raises many types; report them all the same way
            raise PublishError(f"load_dataset({folder!r}, {config!r}) failed: {exc}", path=folder,
                               hint="rebuild with `spanbank build`") from None
        rows[config] = {split: len(ds) for split, ds in loaded.items()}
    return rows
