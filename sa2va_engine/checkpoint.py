"""Reading and writing Sa2VA checkpoints in the official on-disk layout.

Layout (as ByteDance publishes it): ``config.json`` (the VLM's config plus ``template``), weights as
``model.safetensors`` or shards listed in ``model.safetensors.index.json``, and the processor /
tokenizer files. Weight keys: the VLM under its family's prefix, ``grounding_encoder.sam2_model.*``
and ``text_hidden_fcs.*``. Loading is strict: a weight the model needs and the checkpoint lacks, a
key the model does not know, a shape that differs or an unreadable shard is an error, never a
silently random weight.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from sa2va_engine import hub
from sa2va_engine.errors import CheckpointError
from sa2va_engine.vlm_family import VlmFamily

SAM2_PREFIX = "grounding_encoder.sam2_model."
FCS_PREFIX = "text_hidden_fcs."
INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"

# Sa2VA renamed SAM-2's layer-scale `gamma` to `g_weight` (old transformers rewrote `gamma` keys on load).
_SAM2_RENAMES = ((re.compile(r"\.g_weight$"), ".gamma"),)


def resolve(path_or_id: str | Path) -> Path:
    """A local checkpoint directory for a directory path or a hub id (`owner/name[@revision]`, sa2va_engine/hub.py)."""
    text = str(path_or_id)
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise CheckpointError(f"{path}: a checkpoint is a directory, this is a file")
        return path
    ref = hub.parse_ref(text)
    if ref is not None:
        try:
            return hub.download(ref)
        except Exception as exc:
            # The whole reason, on one line: the hub's messages say which file, revision or setting failed.
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise CheckpointError(
                f"{text}: not a local directory, and the hub download of {ref.spec} failed ({type(exc).__name__}: "
                f"{reason}). To fix: give the machine network once (the files are kept in the Hugging Face cache, "
                f"{hub.cache_dir()}, set by $HF_HOME), or unset HF_HUB_OFFLINE if it is set; or check the id and "
                "--revision; or download the checkpoint elsewhere and pass its folder with --model DIR; or try the "
                "shipped demo model with --model demo"
            ) from exc
    raise CheckpointError(f"{path}: no such checkpoint directory")


def read_config(directory: Path) -> dict:
    file = directory / "config.json"
    if not file.is_file():
        raise CheckpointError(f"{file}: missing (not a Sa2VA checkpoint directory)")
    try:
        return json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{file}: not valid JSON ({exc})") from exc


def shard_files(directory: Path) -> list[Path]:
    index = directory / INDEX_FILE
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError) as exc:
            raise CheckpointError(f"{index}: not a valid safetensors index ({exc})") from exc
        files = sorted(set(weight_map.values()))
        missing = [f for f in files if not (directory / f).is_file()]
        if missing:
            raise CheckpointError(f"{directory}: shard(s) listed in {INDEX_FILE} are missing: {', '.join(missing)}")
        return [directory / f for f in files]
    single = directory / SINGLE_FILE
    if single.is_file():
        return [single]
    raise CheckpointError(f"{directory}: no {SINGLE_FILE} or {INDEX_FILE} (only safetensors weights are read)")


def to_model_key(key: str, family: VlmFamily) -> str | None:
    """Checkpoint key -> the key in `Sa2VAModel.state_dict()`; None for a key no part of Sa2VA owns."""
    if key.startswith(SAM2_PREFIX):
        for pattern, repl in _SAM2_RENAMES:
            key = pattern.sub(repl, key)
        return key
    if key.startswith(FCS_PREFIX):
        return key
    if key.startswith(family.checkpoint_prefix):
        return "mllm." + family.map_checkpoint_key(key[len(family.checkpoint_prefix):])
    return None


def to_model_keys(key: str, family: VlmFamily) -> list[str] | None:
    """Like `to_model_key`, but a tensor the family splits (InternViT's fused qkv) gives several keys."""
    if not key.startswith((SAM2_PREFIX, FCS_PREFIX)) and key.startswith(family.checkpoint_prefix):
        split = family.split_checkpoint_key(key[len(family.checkpoint_prefix):])
        if split:
            return ["mllm." + k for k in split]
    name = to_model_key(key, family)
    return None if name is None else [name]


def to_checkpoint_key(key: str, family: VlmFamily) -> str:
    if key.startswith(SAM2_PREFIX):
        return re.sub(r"\.gamma$", ".g_weight", key)
    if key.startswith("mllm."):
        return family.checkpoint_prefix + family.unmap_model_key(key[len("mllm."):])
    return key


def load_weights(model: torch.nn.Module, directory: Path, family: VlmFamily) -> None:
    """Copy every checkpoint tensor into ``model``; raise on anything missing, unknown or misshapen."""
    with torch.no_grad():
        for _key, target, part in _matched_tensors(model, directory, family, read=True):
            target.copy_(part.to(target.dtype))


def check_weights(model: torch.nn.Module, directory: Path, family: VlmFamily) -> int:
    """What `load_weights` checks, from the shards' headers only (no tensor is read; ``model`` may be on the meta
    device): the number of checkpoint tensors, or the CheckpointError loading would raise."""
    return len({key for key, _, _ in _matched_tensors(model, directory, family, read=False)})


def _matched_tensors(model: torch.nn.Module, directory: Path, family: VlmFamily, read: bool):
    """(checkpoint key, model tensor, checkpoint tensor or its part) for every weight, after the strict checks: an unknown key, a shape that
    differs, an unreadable shard or (at the end) a weight the checkpoint lacks raise. ``read=False`` yields
    meta tensors of the stored shapes instead of the data."""
    targets = model.state_dict()
    loaded: set[str] = set()
    unknown: list[str] = []
    for file in shard_files(directory):
        try:
            with safe_open(str(file), framework="pt") as shard:
                for key in shard.keys():
                    names = to_model_keys(key, family)
                    if names is None or any(n not in targets for n in names):
                        unknown.append(key)
                        continue
                    tensor = (shard.get_tensor(key) if read
                              else torch.empty(shard.get_slice(key).get_shape(), device="meta"))
                    parts = [tensor] if len(names) == 1 else family.split_checkpoint_tensor(key[len(family.checkpoint_prefix):], tensor)
                    for name, part in zip(names, parts):
                        target = targets[name]
                        if tuple(part.shape) != tuple(target.shape):
                            what = key if len(names) == 1 else f"{key} (its part {name[len('mllm.'):]})"
                            raise CheckpointError(
                                f"{file.name}: {what} has shape {tuple(part.shape)}, the model expects {tuple(target.shape)}"
                            )
                        yield key, target, part
                        loaded.add(name)
        except (SafetensorError, OSError, RuntimeError) as exc:
            if isinstance(exc, CheckpointError):
                raise
            raise CheckpointError(f"{file}: unreadable or truncated safetensors shard ({str(exc).splitlines()[0][:120]})") from exc
    if unknown:
        raise CheckpointError(f"{directory}: {len(unknown)} unexpected weight(s) in the checkpoint: {_sample(unknown)}")
    # A weight the checkpoint lacks is fine when it shares storage with a loaded one (tied embeddings). On the meta
    # device every tensor has data_ptr 0, so ties are found by the module's own parameter sharing instead.
    shared = _tied_names(model)
    loaded_storage = {targets[k].data_ptr() for k in loaded} if read else set()
    missing = [k for k in targets if k not in loaded and targets[k].data_ptr() not in loaded_storage
               and not (shared.get(k, set()) & loaded)]
    if missing:
        raise CheckpointError(f"{directory}: {len(missing)} weight(s) missing from the checkpoint: {_sample(missing)}")


def _tied_names(model: torch.nn.Module) -> dict[str, set[str]]:
    """Each state-dict name -> the other names of the very same tensor object (tied weights)."""
    by_object: dict[int, set[str]] = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        by_object.setdefault(id(tensor), set()).add(name)
    return {name: names - {name} for names in by_object.values() for name in names}


def _sample(keys: list[str], n: int = 4) -> str:
    more = f" (and {len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def save_weights(model: torch.nn.Module, directory: Path, family: VlmFamily, max_shard_bytes: int = 2 * 1024**3,
                 dtype: torch.dtype | None = None) -> None:
    """Write the weights in the official layout, sharded with an index when larger than one shard;
    floating-point tensors in ``dtype`` when given (official checkpoints are bfloat16)."""
    # Tied tensors (shared storage) are stored once, as transformers does. Found on the model's own
    # tensors: copies to the host would no longer share storage.
    state_dict = model.state_dict()
    first_of: dict[int, str] = {}
    tied = set()
    for key, value in state_dict.items():
        if value.numel() > 0 and value.data_ptr() in first_of:
            tied.add(key)
        first_of.setdefault(value.data_ptr(), key)
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items() if k not in tied}
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    # The VLM first (the module registers it first), through the family's inverse map.
    vlm = {k[len("mllm."):]: v for k, v in tensors.items() if k.startswith("mllm.")}
    state = {family.checkpoint_prefix + k: v for k, v in family.merge_for_save(vlm).items()}
    state.update({to_checkpoint_key(k, family): v for k, v in tensors.items() if not k.startswith("mllm.")})
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key in sorted(state):
        nbytes = state[key].numel() * state[key].element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = state[key]
        size += nbytes
    if len(shards) == 1:
        save_file(shards[0], str(directory / SINGLE_FILE), metadata={"format": "pt"})
        return
    weight_map = {}
    for i, shard in enumerate(shards, 1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(directory / name), metadata={"format": "pt"})
        weight_map.update({k: name for k in shard})
    total = sum(v.numel() * v.element_size() for v in state.values())
    (directory / INDEX_FILE).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
