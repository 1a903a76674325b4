"""Which Sa2VA family a checkpoint's config.json describes (Qwen3-VL, Qwen2.5-VL, InternVL3), or a one-line
refusal naming the ones this engine runs. Kept out of checkpoint.py, whose `read_config` the families use, so
no two files import each other. A family's module (and its transformers classes) is imported only when a
config names it."""

from __future__ import annotations

from pathlib import Path

from sa2va_engine.errors import UnsupportedModelError
from sa2va_engine.vlm_family import VlmFamily

SUPPORTED = "ByteDance/Sa2VA-Qwen3-VL-4B, Sa2VA-Qwen2_5-VL-3B/7B, Sa2VA-1B, Sa2VA-4B, Sa2VA-InternVL3-2B/8B/14B"


def detect_family(raw: dict, directory: Path) -> VlmFamily:
    """The model family a config.json describes; InternLM2/Phi-3 based Sa2VA get a clear refusal."""
    if "llm_config" in raw:
        arch = ((raw.get("llm_config") or {}).get("architectures") or [""])[0]
        if arch in ("Qwen2ForCausalLM",):
            from sa2va_engine.family_internvl import INTERNVL_FAMILY

            return INTERNVL_FAMILY
        raise UnsupportedModelError(
            f"{directory}: Sa2VA with a {arch or 'unknown'} language model (e.g. Sa2VA-8B/26B on InternLM2) "
            f"is not supported; use one of: {SUPPORTED}"
        )
    kinds = {(raw.get(part) or {}).get("model_type", "") for part in ("text_config", "vision_config")}
    kinds.add(raw.get("model_type", ""))
    from sa2va_engine.family_qwen_vl import QWEN2_5_VL, QWEN3_VL, QwenVlFamily

    if kinds & {"qwen3_vl", "qwen3_vl_text"}:
        return QwenVlFamily(QWEN3_VL)
    if kinds & {"qwen2_5_vl", "qwen2_5_vl_text"}:
        return QwenVlFamily(QWEN2_5_VL)
    raise UnsupportedModelError(f"{directory}: config.json describes no Sa2VA family this engine knows; use one of: {SUPPORTED}")
