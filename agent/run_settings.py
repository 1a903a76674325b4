"""One set of defaults: the settings of `sva index`, `sva query`, `sva demo` and the dashboard, built in one place.

Precedence, highest first: what the user set (a flag, a dashboard control), the checkpoint's preset
(tools/model_preset.py: the shipped demo model carries the sampling, chunking and prompting it was trained
for), the project's defaults (IndexSettings / QuerySettings). A query's checkpoint is the one given, else
$SVA_MODEL, else the one the index was built with (its latest indexing job), else the official default, so a
question asked of an index built with `--model demo` is answered by the demo model without saying so again,
and more footage indexed into it (`sva index`, the dashboard's "Add a folder") is indexed with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.indexing.index_settings import IndexSettings
from agent.query.query_answer import QuerySettings
from index.errors import IndexCorrupt, IndexNotFound
from index.reader import IndexReader
from sa2va_engine.hub import with_revision
from sa2va_engine.settings import settings
from tools.engine_session import model_name
from tools.model_preset import installed_model, load_preset


def _given(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def index_settings(db: Path, model: str | None = None, revision: str | None = None, **given: Any) -> IndexSettings:
    """Settings of an indexing run: `given` (None = not set) over the model's preset over the defaults. The
    model, when not given, is chosen as for a query: more footage for an index keeps the index's model.
    `revision` pins a hub id to a commit, branch or tag."""
    try:
        name = with_revision(index_model(db, model), revision)
    except IndexCorrupt:
        raise IndexCorrupt(
            f"{db}: not a readable sva index, so the model it was built with is unknown; to index the videos again "
            f"name it: `sva index --rebuild FOLDER... --model MODEL --db {db}`; or put back a backup: "
            f"`sva backup --restore BACKUP --db {db}`") from None
    return IndexSettings(db=db, model=name, **(load_preset(name).index | _given(given)))


def index_model(db: Path, model: str | None = None) -> str:
    """The checkpoint a run on `db` uses: given, else $SVA_MODEL, else the index's own, else the default."""
    if model or settings().model:
        return model_name(model)
    indexed = None
    if Path(db).exists():
        try:
            indexed = IndexReader(db, linger_s=0).indexed_model()
        except IndexNotFound:
            pass
    return model_name(installed_model(indexed) if indexed else None)


def query_settings(db: Path, model: str | None = None, revision: str | None = None, **given: Any) -> QuerySettings:
    """Settings of a query: `given` (None = not set) over the query model's preset over the defaults."""
    name = with_revision(index_model(db, model), revision)
    return QuerySettings(db=db, model=name, **(load_preset(name).query | _given(given)))
