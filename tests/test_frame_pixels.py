"""A checkpoint's frame budget (`sva_frame_pixels`): frames the LLM sees are shrunk to it, regions seen up close keep
the processor's own budget, in inference and in training alike; a bad value is a one-line CheckpointError."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from sa2va_engine.errors import CheckpointError
from sa2va_engine.frame_pixels import frame_pixels, shrunk
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.training.train import _llm_image
from sa2va_engine.training.train_sample import TrainSample


def test_a_frame_over_the_budget_is_shrunk_as_the_processor_would_and_one_within_it_is_left():
    frame = Image.new("RGB", (256, 192))
    assert shrunk(frame, 16_384).size == (128, 96)  # the processor's own 16,384 gives 8 x 6 patches of 16 px
    assert shrunk(frame, 65_536) is frame
    assert shrunk(frame, None) is frame
    wide = shrunk(Image.new("RGB", (1280, 720)), 16_384)
    assert wide.size[0] * wide.size[1] <= 16_384 and wide.size[0] % 32 == 0 and wide.size[1] % 32 == 0
    assert wide.size[0] / wide.size[1] == pytest.approx(1280 / 720, rel=0.2)


@pytest.mark.parametrize("value", [0, 100, "16384", 16384.0, True, [16384]])
def test_a_bad_budget_names_the_key(value):
    with pytest.raises(CheckpointError, match="sva_frame_pixels") as caught:
        frame_pixels({"sva_frame_pixels": value})
    assert "\n" not in str(caught.value)


def test_no_budget_is_none():
    assert frame_pixels({}) is None and frame_pixels({"sva_frame_pixels": 4096}) == 4096


class _Spy:
    """Records the sizes of the images each processor call gets."""

    def __init__(self, processor):
        self.processor, self.sizes = processor, []

    def __call__(self, *args, images=None, **kwargs):
        self.sizes.append([im.size for im in images or []])
        return self.processor(*args, images=images, **kwargs)

    def __getattr__(self, name):
        return getattr(self.processor, name)


def test_frames_get_the_budget_and_regions_up_close_do_not(tiny_checkpoints, checkpoint_copy):
    directory = checkpoint_copy(tiny_checkpoints("qwen3_vl"), "budget")
    config = json.loads((directory / "config.json").read_text())
    config |= {"sva_frame_pixels": 4096, "sva_region_zoom": {"context": 2.0, "size": 128}}
    (directory / "config.json").write_text(json.dumps(config))
    engine = Sa2VA.from_pretrained(directory, device="cpu")
    spy = _Spy(engine.processor)
    engine.processor = spy
    frame = np.zeros((192, 256, 3), np.uint8)
    engine.chat(frame, "what is here?", max_new_tokens=2)
    engine.region_captions([(frame, (100, 50, 140, 90))], max_new_tokens=2)
    engine.region_names([(frame, (100, 50, 140, 90))], max_new_tokens=2)
    frame_call, marked_call, zoomed_call = spy.sizes
    assert frame_call == [(64, 32)] and marked_call == [(64, 32)]  # within 4,096 pixels: whole frames
    assert zoomed_call == [(128, 128)]  # the zoom's own size, left to the processor


def test_training_shows_frames_and_regions_as_inference_does():
    frame = np.zeros((192, 256, 3), np.uint8)
    plain = TrainSample(frames=[frame], key_frames=[0], question="q", answer="a")
    zoomed = TrainSample(frames=[frame], key_frames=[0], question="q", answer="a", task="name", zoomed=True)
    assert _llm_image(plain, 0, 16_384).size == (128, 96)
    assert _llm_image(zoomed, 0, 16_384).size == (256, 192)
    assert _llm_image(plain, 0, None).size == (256, 192)
