"""The data files spanbank ships: the label schema, the lexicons, the label maps and ``NOTICE``.

In the repository they stay where people edit them (``schema/spanbank.yaml``,
``schema/lexicons/``, ``schema/label-maps/``, ``NOTICE``); the wheel carries the same files as
package data under ``spanbank/_data/`` (``force-include`` in ``pyproject.toml``), with the same
layout below it.  :func:`data_path` finds them with :mod:`importlib.resources`: the installed
package's ``_data`` folder when it is there, else (a checkout, an editable install) the
repository's own files, so a checkout always reads the files being edited.

Which *schema* a command uses is decided by :func:`spanbank.schema.schema_path` (an explicit
path, ``$SPANBANK_SCHEMA``, the working directory's ``schema/spanbank.yaml``, else the shipped
one); lexicons always come from here, since a released pre-annotator name must not change its
output with the folder it runs in.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import SpanbankError

PACKAGE_DATA = "_data"


def _package_dir() -> Path:
    root = files("spanbank")
    if not isinstance(root, Path):  # a zip import: the files are not on disk
        raise SpanbankError(f"spanbank is installed where its data files are not plain files ({root})",
                            hint="install spanbank as an ordinary (unzipped) wheel")
    return root


def data_root() -> Path:
    """The folder that holds ``schema/`` and ``NOTICE``: the package data, else the checkout."""
    package = _package_dir()
    shipped = package / PACKAGE_DATA
    if shipped.is_dir():  # installed from the wheel (an editable install imports src/spanbank, which has none)
        return shipped
    checkout = package.parents[1]  # src/spanbank -> the repository
    if (checkout / "pyproject.toml").is_file() and (checkout / "schema").is_dir():
        return checkout
    return shipped  # missing: whoever reads a file from it reports the path (no error at import time)


def data_path(*parts: str) -> Path:
    """A shipped data file or folder, e.g. ``data_path("schema", "lexicons")``."""
    return data_root().joinpath(*parts)
