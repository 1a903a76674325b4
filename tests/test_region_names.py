"""Objects named up close (#20 item 0): the zoom keeps the object and its box, the model's answer becomes a label
only when it is a short name, the analyser renames exactly the grounded caption's objects (a watched expression
keeps the user's words) in one generation, and the shipped demo model, indexing unseen worlds through `sva index`,
stores labels that name the objects' colour and kind."""

from __future__ import annotations

import numpy as np
import pytest

import sa2va_engine.sa2va as sa2va_module
from agent.indexing.chunk_analyser import ChunkAnalyser
from agent.indexing.index_settings import IndexSettings
from sa2va_engine.masklet import Masklet, TrackPoint
from sa2va_engine.region_zoom import MIN_SIDE_PX, mark_region, zoom_to_region
from sa2va_engine.sa2va import Sa2VA
from tests.agent_fixtures import one_torch_thread
from tools.clip import Clip
from tools.sa2va_region import MAX_NAME_WORDS, object_name
from tools.video_decode import DecodedFrame


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


def _scene(h=120, w=160):
    image = np.full((h, w, 3), 40, np.uint8)
    image[50:70, 100:120] = (200, 30, 30)  # a 20-px red square
    return image


@pytest.mark.parametrize("context, size", [(2.0, 160), (1.5, 448), (3.0, 64)])
def test_the_zoom_shows_the_object_large_with_its_box_on_it(context, size):
    zoomed, box = zoom_to_region(_scene(), (100, 50, 120, 70), context=context, size=size)
    assert max(zoomed.shape[:2]) == size
    x0, y0, x1, y1 = box
    # The box still bounds the object: inside it the zoomed pixels are the square's red, a margin outside it not.
    assert (x1 - x0) == pytest.approx(size / context, rel=0.05)
    m = int((x1 - x0) / 4)  # bicubic rings near the square's edges
    inner = zoomed[int(y0) + m:int(y1) - m, int(x0) + m:int(x1) - m]
    assert inner.size and np.abs(inner.astype(int) - (200, 30, 30)).max() <= 2
    assert np.abs(zoomed[2, 2].astype(int) - 40).max() <= 2


def test_the_zoom_is_clipped_at_the_frame_edge_and_never_empty():
    image = _scene()
    zoomed, box = zoom_to_region(image, (0, 0, 3, 2), context=2.0, size=100)
    assert max(zoomed.shape[:2]) == 100 and min(zoomed.shape[:2]) > 0
    assert 0 <= box[0] < box[2] <= zoomed.shape[1] and 0 <= box[1] < box[3] <= zoomed.shape[0]
    # A box smaller than MIN_SIDE_PX still shows MIN_SIDE_PX of the frame (here clipped to the corner).
    small, _ = zoom_to_region(image, (80, 60, 81, 61), context=2.0, size=MIN_SIDE_PX * 4)
    assert small.shape[:2] == (MIN_SIDE_PX * 4, MIN_SIDE_PX * 4)


def test_the_region_mark_is_a_red_box_on_the_image():
    marked = np.asarray(mark_region(_scene(), (10, 10, 30, 30)))
    assert tuple(marked[10, 20]) == (255, 0, 0) and tuple(marked[20, 10]) == (255, 0, 0)
    assert tuple(marked[20, 20]) == (40, 40, 40)


@pytest.mark.parametrize("answer, name", [
    ("a red dog", "the red dog"),
    ("The red dog.", "the red dog"),
    ("An orange cat\nsitting", "the orange cat"),
    ("man in a blue jacket", "the man in a blue jacket"),
    ("  ", None),
    ("Sure, [SEG].", None),
    ("<p>the dog</p>", None),
    ("a dog that runs along the fence towards the gate", None),
])
def test_an_answer_is_a_label_only_when_it_is_a_short_name(answer, name):
    assert object_name(answer) == name
    assert name is None or len(name.split()) <= MAX_NAME_WORDS + 1


@pytest.fixture(scope="module")
def engine(tiny_checkpoints):
    return Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"), device="cpu")


@pytest.mark.parametrize("zoom", [{"size": "big"}, {"context": 0.5}, {"scale": 2}, [2, 160]])
def test_a_wrong_zoom_in_the_config_is_a_checkpoint_error_naming_it(zoom):
    from sa2va_engine.errors import CheckpointError
    from sa2va_engine.region_zoom import zoom_settings

    assert zoom_settings({}) == {"context": 2.0, "size": 448}
    assert zoom_settings({"sva_region_zoom": {"size": 160}}) == {"context": 2.0, "size": 160}
    with pytest.raises(CheckpointError, match="sva_region_zoom"):
        zoom_settings({"sva_region_zoom": zoom})


def test_names_in_one_batch_are_the_one_at_a_time_answers(engine, monkeypatch):
    image = _scene()
    regions = [(image, (100, 50, 120, 70)), (image, (10, 10, 40, 30)), (image, (60, 60, 160, 120))]
    alone = [engine.region_names([r], max_new_tokens=6)[0] for r in regions]
    sizes = []
    batch = sa2va_module.generate_batch
    monkeypatch.setattr(sa2va_module, "generate_batch", lambda m, f, p, image_sets, *a, **k:
                        sizes.append(len(image_sets)) or batch(m, f, p, image_sets, *a, **k))
    assert engine.region_names(regions, max_new_tokens=6) == alone
    assert sizes == [3]


def _masklet(expression: str, box: tuple[float, float, float, float] | None, times=(0.0, 0.5)) -> Masklet:
    points = []
    for t in times:
        mask = np.zeros((120, 160), bool)
        if box is not None:
            x0, y0, x1, y1 = (int(v) for v in box)
            mask[y0:y1, x0:x1] = True
        points.append(TrackPoint.from_mask(t, mask, 1.0 if box is not None else 0.0))
    return Masklet(expression=expression, points=points)


def test_the_analyser_renames_the_grounded_objects_and_keeps_the_watched_words(engine, monkeypatch, tmp_path):
    frames = [DecodedFrame(time_s=t, index=i, image=_scene()) for i, t in enumerate((0.0, 0.5))]
    clip = Clip(video_path="v.mp4", start_s=0.0, end_s=1.0, frames=frames)
    asked = []

    def fake_names(regions, max_new_tokens=12):
        asked.append([box for _, box in regions])
        return ["A red box.", "something long enough to be a whole description of it"][:len(regions)]

    monkeypatch.setattr(engine, "region_names", fake_names)
    tracks = [[_masklet("the red ball", (100, 50, 120, 70)), _masklet("a dog", (10, 10, 40, 30)),
               _masklet("the blue ball", None), _masklet("the cat", (0, 0, 20, 20))]]
    settings = IndexSettings(db=tmp_path / "i.duckdb", name_objects=True, watch=["A  Dog"])
    renamed = ChunkAnalyser(settings, lambda: engine).names([clip], tracks)[0]
    # One generation for the two objects that are grounded and present; the watched one and the absent one
    # are not asked; a description is not a name, so "the cat" keeps its phrase.
    assert asked == [[(100, 50, 120, 70), (0, 0, 20, 20)]]
    assert [m.expression for m in renamed] == ["the red box", "a dog", "the blue ball", "the cat"]
    assert [m.points for m in renamed] == [m.points for m in tracks[0]]
    off = IndexSettings(db=tmp_path / "i.duckdb", name_objects=False)
    assert ChunkAnalyser(off, lambda: engine).names([clip], tracks)[0] == tracks[0]
