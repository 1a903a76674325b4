"""The text embedder loads offline without switching the hub off for anything else in the process."""

from __future__ import annotations

import os

from index.embedder import MiniLmEmbedder


def test_minilm_loads_from_the_wheel_and_leaves_the_hub_settings_alone(monkeypatch):
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    vectors = MiniLmEmbedder().embed(["a red ball", "a red ball", "a white van"])
    assert vectors.shape == (3, 384)
    assert abs(float(vectors[0] @ vectors[1]) - 1.0) < 1e-5 and float(vectors[0] @ vectors[2]) < 0.9
    # A Sa2VA checkpoint resolved from the hub later in this process must still be able to download.
    assert "HF_HUB_OFFLINE" not in os.environ and "TRANSFORMERS_OFFLINE" not in os.environ
