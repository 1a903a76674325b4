"""Checkpoints from the Hugging Face hub: an id pinned to a commit, only the files Sa2VA reads, the local cache.

A model is named by a local directory or by `owner/name[@revision]`. Without a revision, an id in `PINNED` is
resolved at its pinned commit, so two machines that install the same sva run the same weights; any other id
follows its `main` branch. The commit a download resolved to is the snapshot folder's name in the cache, and
is what `sva index` records in its job.

A download fetches the configuration, tokenizer and processor files first, then exactly the weight shards the
safetensors index lists (or the one `model.safetensors`), both at the same commit: a repository's demo images,
remote code, READMEs and stray weights are never fetched.

The hub's settings are read when a download starts, not when `huggingface_hub` was imported: `HF_ENDPOINT`
(a mirror), `HF_HUB_CACHE` / `HF_HOME` (the cache) and `HF_HUB_OFFLINE` (cache only).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

# The official default, pinned. The commit is the one the model card's files were published at on the hub
# (https://huggingface.co/ByteDance/Sa2VA-Qwen3-VL-4B, resolve/fa5f0ed5...). Override with --revision.
PINNED = {"ByteDance/Sa2VA-Qwen3-VL-4B": "fa5f0ed5d0b0b71163572510121edeaa201e6bd8"}

_REF = re.compile(r"(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[\w.\-/]+))?")
_COMMIT = re.compile(r"[0-9a-f]{40}")

# Everything Sa2VA reads besides the weights (configuration, generation settings, tokenizer, processor).
SUPPORT_FILES = (
    "config.json", "generation_config.json", "model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.json", "merges.txt", "tokenizer.model",
    "preprocessor_config.json", "video_preprocessor_config.json", "processor_config.json",
    "chat_template.json", "chat_template.jinja",
)


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    revision: str  # what to resolve: a commit, branch or tag

    @property
    def spec(self) -> str:
        return f"{self.repo_id}@{self.revision}"


def parse_ref(text: str) -> HubRef | None:
    """`owner/name[@revision]` -> HubRef (pinned ids get their commit); None for anything else."""
    text = str(text)
    match = _REF.fullmatch(text)
    if match is None or text.startswith((".", "/", "~")):
        return None
    repo = match["repo"]
    return HubRef(repo, match["revision"] or PINNED.get(repo, "main"))


def with_revision(model: str, revision: str | None) -> str:
    """`model` at `revision` when it is a hub id (`owner/name@revision`); a directory is returned unchanged."""
    ref = parse_ref(model) if revision else None
    return model if ref is None else f"{ref.repo_id}@{revision}"


def cache_dir() -> Path:
    """Where the hub keeps downloads: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def offline() -> bool:
    """Cache only, as huggingface_hub decides it (TRANSFORMERS_OFFLINE counts too)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in ("1", "true", "yes", "on")


def download(ref: HubRef) -> Path:
    """The snapshot folder of `ref` with the files Sa2VA needs, downloaded unless cached. Raises what
    huggingface_hub raises; checkpoint.resolve turns it into one line with the ways forward."""
    from huggingface_hub import snapshot_download

    common = {"repo_id": ref.repo_id, "cache_dir": str(cache_dir()), "local_files_only": offline(),
              "endpoint": os.environ.get("HF_ENDPOINT") or None}
    folder = Path(snapshot_download(revision=ref.revision, allow_patterns=list(SUPPORT_FILES), **common))
    # The weights at the very commit the first call resolved (a branch may move between the two calls).
    commit = snapshot_commit(folder) or ref.revision
    snapshot_download(revision=commit, allow_patterns=weight_files(folder), **common)
    return folder


def weight_files(folder: Path) -> list[str]:
    """The shards a checkpoint folder's safetensors index lists, else the single `model.safetensors`."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            return sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError, TypeError):
            pass  # checkpoint.shard_files names the broken index when the model loads
    return ["model.safetensors"]


def snapshot_commit(folder: Path) -> str | None:
    """The commit a hub cache snapshot folder holds (its name), None for any other folder."""
    folder = Path(folder)
    return folder.name if folder.parent.name == "snapshots" and _COMMIT.fullmatch(folder.name) else None


def cached_snapshot(ref: HubRef) -> Path | None:
    """The cached snapshot of `ref` when its configuration and every weight file are on disk (no network)."""
    repo = cache_dir() / ("models--" + ref.repo_id.replace("/", "--"))
    commit = ref.revision
    if not _COMMIT.fullmatch(commit):
        head = repo / "refs" / commit
        if not head.is_file():
            return None
        commit = head.read_text().strip()
    folder = repo / "snapshots" / commit
    if not (folder / "config.json").is_file():
        return None
    return folder if all((folder / name).is_file() for name in weight_files(folder)) else None
