"""Settings from the environment: one object reads every SVA_* variable, at call time, and the README lists each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sa2va_engine.settings import ENV_PREFIX, SvaSettings, settings
from sa2va_engine.user_error import UserError

REPO = Path(__file__).resolve().parents[1]
LAYERS = ["sa2va_engine", "tools", "index", "agent", "ui"]


@pytest.fixture
def clean(monkeypatch):
    for name in SvaSettings.model_fields:
        monkeypatch.delenv(ENV_PREFIX + name.upper(), raising=False)
    return monkeypatch


def test_defaults_when_nothing_is_set(clean):
    given = settings()
    assert (given.model, given.db, given.dtype, given.cache_dir) == (None, None, None, None)
    assert given.skip_memory_check is False and given.ui_host == "127.0.0.1"


def test_values_are_read_when_asked_not_at_import(clean, tmp_path):
    clean.setenv("SVA_DB", str(tmp_path / "i.duckdb"))
    clean.setenv("SVA_SKIP_MEMORY_CHECK", "yes")
    clean.setenv("SVA_MODEL", "")  # empty counts as unset
    given = settings()
    assert given.db == tmp_path / "i.duckdb" and given.skip_memory_check is True and given.model is None
    clean.setenv("SVA_DB", str(tmp_path / "other.duckdb"))
    assert settings().db == tmp_path / "other.duckdb"


def test_a_value_that_does_not_parse_is_one_line_naming_the_variable(clean):
    clean.setenv("SVA_SKIP_MEMORY_CHECK", "maybe")
    with pytest.raises(UserError) as caught:
        settings()
    message = str(caught.value)
    assert message.startswith("$SVA_SKIP_MEMORY_CHECK='maybe': ") and "\n" not in message


def test_only_the_settings_module_reads_sva_variables():
    """Who reads the environment: nobody but sa2va_engine/settings.py asks it for an SVA_ variable."""
    read = re.compile(r"(environ(\.get)?\s*[\[(]|getenv\s*\()\s*['\"]SVA_")
    readers = [str(path.relative_to(REPO)) for layer in LAYERS for path in (REPO / layer).rglob("*.py")
               if read.search(path.read_text(encoding="utf-8"))]
    assert readers == []


def test_the_readme_lists_every_setting_with_its_meaning():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(SVA_[A-Z_]+)` \| (.+?) \|", readme, flags=re.MULTILINE))
    assert set(rows) == {ENV_PREFIX + name.upper() for name in SvaSettings.model_fields}
    assert all(len(meaning.split()) >= 4 for meaning in rows.values())
