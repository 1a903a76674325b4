"""Settings from the environment: every ``SVA_*`` variable sva reads, with its default, in one place.

A variable is ``SVA_`` + the field's name in capitals (``SVA_DB`` -> ``db``); an empty value counts as unset.
Each call of ``settings()`` reads the environment afresh, so a variable set after import is seen: by a
test's monkeypatch, or by the Streamlit process `sva ui` starts with its settings in the environment.
Command-line flags win over these; these win over the built-in defaults (``None`` here: the code that
uses the setting decides, as its description says). The engine is the lowest layer that reads one
(``SVA_SKIP_MEMORY_CHECK``), so the object lives here and every layer above imports it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from sa2va_engine.user_error import UserError

ENV_PREFIX = "SVA_"


class SvaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True)

    model: str | None = Field(
        default=None, description="checkpoint when --model is not given: hub id (owner/name[@revision]), local "
        "directory or `demo`; unset: the model the index was built with, else ByteDance/Sa2VA-Qwen3-VL-4B")
    db: Path | None = Field(
        default=None, description="index file when --db is not given; unset: index.duckdb in the user data "
        "directory (~/.local/share/sva/ on Linux)")
    dtype: str | None = Field(
        default=None, description="float32, bfloat16, float16 or auto when --dtype is not given; unset (auto): "
        "bfloat16 on CUDA, float32 on CPU")
    skip_memory_check: bool = Field(
        default=False, description="1: load a checkpoint even when the free memory looks too small for it")
    cache_dir: Path | None = Field(
        default=None, description="where the dashboard keeps rendered thumbnails and overlay clips; unset: the "
        "user cache directory's sva/ui")
    ui_host: str = Field(
        default="127.0.0.1", description="the address the dashboard serves on; `sva ui --host` sets it for "
        "the Streamlit process (beyond loopback, every page asks to sign in)")


def settings() -> SvaSettings:
    """The environment's settings now; a value that does not parse is one UserError naming the variable."""
    try:
        return SvaSettings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ENV_PREFIX + str(error["loc"][0]).upper()
        raise UserError(f"${name}={error.get('input')!r}: {error['msg'].lower()}; fix or unset it") from None
