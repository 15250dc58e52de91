"""Publish a built folder to the Hugging Face Hub: checks first, then three thin, documented HfApi calls.

Before anything touches the network, :func:`plan` refuses when the corpus fails validation, when it
differs from its last release manifest, or when the built folder was not built from that release.
The upload itself is::

    HfApi.create_repo(repo_id, repo_type="dataset", private=..., exist_ok=True)
    commit = HfApi.upload_folder(repo_id=..., repo_type="dataset", folder_path=out,
                                 commit_message="Release vX.Y.Z", delete_patterns=["data/**", "project/**"])
    HfApi.create_tag(repo_id, repo_type="dataset", tag="vX.Y.Z", revision=commit.oid)

Before that (and with ``--dry-run`` too) the repo id and the version are written into the card's
snippets, so the folder left behind is exactly what is (or would be) uploaded.
``delete_patterns`` removes shards and project files of the previous release that this one does not
re-upload.  The
token comes from the caller, else ``HF_TOKEN``, else the cached ``hf auth login``; it is passed to
HfApi only and never logged, printed or written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError

from .. import release
from ..errors import PublishError
from ..model import LabelSchema
from ..store import Corpus
from ..checks import refusal
from ..validate import validate
from .card import CARD, check_no_secrets, read_build_info, set_repo_id
from .project import PROJECT

REPO_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*\Z")
TRACKED = ("documents.jsonl", "annotations.jsonl")
DELETE_PATTERNS = ["data/**", f"{PROJECT}/**"]


@dataclass
class PublishPlan:
    """What :func:`publish` does (or did): the version, the tag and the operations in order."""

    repo_id: str
    version: str
    out: Path
    private: bool
    token_source: str  # where the token would come from ("argument", "HF_TOKEN", "cached login", "none")
    files: list[str] = field(default_factory=list)
    commit: str | None = None
    done: bool = False

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    @property
    def commit_message(self) -> str:
        return f"Release {self.tag}"

    def operations(self) -> list[str]:
        size = sum((self.out / f).stat().st_size for f in self.files)
        return [
            f"create_repo {self.repo_id} (dataset, {'private' if self.private else 'public'}, exist_ok=True)",
            (f"upload_folder {self.out} -> {self.repo_id}: {len(self.files)} files, {size} bytes, "
             f"commit message {self.commit_message!r}, delete_patterns={DELETE_PATTERNS}"),
            f"create_tag {self.tag} on the upload commit" + (f" {self.commit}" if self.commit else ""),
        ]

    def as_dict(self) -> dict[str, Any]:
        return {"repo_id": self.repo_id, "version": self.version, "tag": self.tag, "private": self.private,
                "token": self.token_source, "operations": self.operations(), "commit": self.commit, "done": self.done}


def token_source(token: str | None) -> tuple[str | None, str]:
    """(token, where it came from); the token itself is only ever handed to HfApi."""
    if token:
        return token, "argument"
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"], "HF_TOKEN"
    cached = get_token()
    return (cached, "cached login") if cached else (None, "none")


def plan(corpus: Corpus, schema: LabelSchema, out: str | Path, repo_id: str, private: bool = False,
         token: str | None = None) -> PublishPlan:
    """Every check publishing needs, without the network; raises PublishError on the first refusal."""
    out = Path(out)
    if not REPO_ID.match(repo_id):
        raise PublishError(f"repo id {repo_id!r} is not ORG/NAME", value=repo_id, hint="e.g. --repo-id my-org/news-spans")
    manifest = release.read_manifest(corpus)
    if manifest is None:
        raise PublishError("the corpus has no release", path=str(corpus.manifest_path),
                           hint="run `spanbank release` first; a published dataset is always a released version")
    changes = release.unreleased_changes(corpus)
    if changes:
        raise PublishError(f"the corpus differs from release {manifest['version']}: " + "; ".join(changes),
                           path=str(corpus.path), hint="run `spanbank release`, then `spanbank build`, then publish")
    problems = validate(corpus, schema)
    if problems:
        raise refusal(problems, f"not published: {corpus.path} does not validate",
                      "fix them (`spanbank validate`), release, rebuild", PublishError)
    _check_build(out, manifest)
    secret, source = token_source(token)
    check_no_secrets((out / CARD).read_text(encoding="utf-8"), "dataset card", secret)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    return PublishPlan(repo_id, manifest["version"], out, private, source, files)


def _check_build(out: Path, manifest: dict[str, Any]) -> None:
    info = read_build_info(out)
    built = info.get("files") or {}
    released = manifest.get("files") or {}
    stale = [n for n in TRACKED if built.get(n) != released.get(n)]
    if stale or info.get("version") != manifest["version"]:
        raise PublishError(f"{out} was built from {'corpus version ' + str(info.get('version'))} with different "
                           f"{', '.join(stale) or 'release metadata'} than release {manifest['version']}",
                           path=str(out / CARD), hint="run `spanbank build` again")


def publish(corpus: Corpus, schema: LabelSchema, out: str | Path, repo_id: str, private: bool = False,
            dry_run: bool = False, token: str | None = None) -> PublishPlan:
    """Check, write the repo id into the card, then (unless ``dry_run``) create the repo, upload the folder
    and tag the commit ``vX.Y.Z``."""
    result = plan(corpus, schema, out, repo_id, private, token)
    set_repo_id(result.out, repo_id, result.version)
    check_no_secrets((result.out / CARD).read_text(encoding="utf-8"), "dataset card", token_source(token)[0])
    if dry_run:
        return result
    secret, _ = token_source(token)
    if secret is None:
        raise PublishError("no Hugging Face token", hint="set HF_TOKEN or run `hf auth login` (never pass it on the command line)")
    api = HfApi(token=secret)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=str(result.out),
                                   commit_message=result.commit_message, delete_patterns=DELETE_PATTERNS)
        result.commit = commit.oid
        api.create_tag(repo_id, repo_type="dataset", tag=result.tag, revision=commit.oid, tag_message=result.commit_message)
    except HfHubHTTPError as exc:
        message = str(exc).replace(secret, "***")
        raise PublishError(f"the Hub refused: {message}", value=repo_id,
                           hint="check the repo id, your token's write access, and that the tag does not exist yet") from None
    result.done = True
    return result
