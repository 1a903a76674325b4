"""Region captions of several objects in one batched generation (#24 item 2): the same greedy answers as one at a
time, in one generation; the analyser describes a chunk's objects in one batch and falls back to one at a time
when the batch fails, so an object fails only for a reason of its own."""

from __future__ import annotations

import numpy as np
import pytest

import sa2va_engine.sa2va as sa2va_module
from agent.indexing.chunk_analyser import ChunkAnalyser
from agent.indexing.index_settings import IndexSettings
from sa2va_engine.errors import CheckpointError
from sa2va_engine.masklet import Masklet, TrackPoint
from sa2va_engine.sa2va import Sa2VA
from tests.agent_fixtures import one_torch_thread
from tests.frames import read_frames
from tools.video_decode import DecodedFrame


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def engine(tiny_checkpoints):
    return Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"), device="cpu")


@pytest.fixture(scope="module")
def frames(shared_videos) -> list[DecodedFrame]:
    images = read_frames(shared_videos / "01_dog.mp4", count=3, step=8)
    return [DecodedFrame(time_s=float(i), index=i, image=image) for i, image in enumerate(images)]


def _generations(monkeypatch) -> list[int]:
    """Rows of each batched generation the engine runs."""
    sizes: list[int] = []
    batch = sa2va_module.generate_batch
    monkeypatch.setattr(sa2va_module, "generate_batch",
                        lambda model, family, processor, image_sets, *a, **k: sizes.append(len(image_sets)) or
                        batch(model, family, processor, image_sets, *a, **k))
    return sizes


def test_region_captions_in_one_batch_are_the_one_at_a_time_answers(engine, frames, monkeypatch):
    h, w = frames[0].image.shape[:2]
    mask = np.zeros((h, w), bool)
    mask[h // 4:h // 2, w // 3:w // 2] = True
    regions = [(frames[0].image, (10, 10, w // 2, h // 2)), (frames[1].image, mask),
               (frames[2].image, (w // 3, h // 3, w - 5, h - 5)), (frames[0].image, (w // 2, 0, w, h // 3))]
    before = engine.generated_tokens
    alone = [engine.region_caption(image, region, max_new_tokens=8) for image, region in regions]
    tokens_alone = engine.generated_tokens - before
    sizes = _generations(monkeypatch)
    batched = engine.region_captions(regions, max_new_tokens=8)
    assert sizes == [4]
    assert batched == alone
    assert engine.generated_tokens - before == 2 * tokens_alone  # the batch counts each row's tokens
    assert len(set(alone)) > 1, alone  # the regions do get different answers: the comparison means something


def _masklet(expression: str, boxes: dict[float, tuple[float, float, float, float]]) -> Masklet:
    points = [TrackPoint(time_s=t, present=True, score=0.9, box=b, area=int((b[2] - b[0]) * (b[3] - b[1])))
              for t, b in boxes.items()]
    return Masklet(expression=expression, points=points)


def _analyser(engine, tmp_path) -> ChunkAnalyser:
    return ChunkAnalyser(IndexSettings(db=tmp_path / "i.duckdb", max_new_tokens=6), lambda: engine)


def test_the_analyser_describes_a_chunks_objects_in_one_batch(engine, frames, tmp_path, monkeypatch):
    analyser = _analyser(engine, tmp_path)
    masklets = [_masklet("a", {0.0: (5, 5, 60, 50), 1.0: (5, 5, 90, 80)}),  # described where it is largest
                Masklet(expression="never seen", points=[TrackPoint(time_s=0.0, present=False, score=0.1)]),
                _masklet("b", {2.0: (40, 30, 120, 100)}), _masklet("c", {0.0: (100, 10, 200, 90)})]
    alone = [analyser.describe(frames, m) for m in masklets]
    sizes = _generations(monkeypatch)
    described = analyser.describe_all(frames, masklets)
    assert sizes == [3] and described == alone and described[1] is None and described[0] is not None

    # A batch that fails (say, out of memory) is retried one object at a time: each object fails alone or not.
    def region_captions(regions, max_new_tokens):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(engine, "region_captions", region_captions)
    assert analyser.describe_all(frames, masklets) == alone
    region_caption = engine.region_caption

    def third_object_fails(image, box, max_new_tokens):
        if box[0] == 40:
            raise ValueError("bad region")
        return region_caption(image, box, max_new_tokens)

    monkeypatch.setattr(engine, "region_caption", third_object_fails)
    failed = analyser.describe_all(frames, masklets)
    assert isinstance(failed[2], ValueError) and [failed[0], failed[1], failed[3]] == [alone[0], None, alone[3]]

    # An unusable checkpoint fails every chunk alike: raised, not recorded on an object.
    def unusable(regions, max_new_tokens):
        raise CheckpointError("weights missing")

    monkeypatch.setattr(engine, "region_captions", unusable)
    with pytest.raises(CheckpointError):
        analyser.describe_all(frames, masklets)
