"""The engine computes what bytedance/Sa2VA's own code computes, pinned by numbers from running that code.

tests/golden/reference_<family>.json holds summaries (ids, shapes, sums, sampled values) of what the reference's
``predict_forward`` (projects/sa2va/hf/models_qwen3vl, models_qwen2_5_vl and, for InternVL, models; commit in the
file) computed on the
tiny seeded checkpoint of `write_tiny_checkpoint(..., seed=0, handling=None)` (an official checkpoint's handling)
and the pictures below, run outside this project on CPU in float32 (README, "Differences from the reference"):
prompt ids of image and video requests, the LLM's pixels and grid, SAM-2's input, the [SEG] embedding after
text_hidden_fcs, mask logits at the input's size for an image and for a 6-frame clip (the first five frames
prompted, the sixth carried by SAM-2's memory), and greedy answer tokens. Tolerances: ids, grids and sizes
exact; float sums within 1e-5 of the tensor's absolute sum, sampled values within 1e-5 (1e-4 for mask logits,
which pass through two upsamplings), mask pixels exact except where the logit is within 1e-6 of 0 (the
reference thresholds sigmoid > 0.5, which rounds such logits to 0.5 in float32). Tight enough to catch a wrong
resize, normalisation or template, which the last tests show.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

GOLDEN_DIR = Path(__file__).parent / "golden"
QUESTION = "the red disk"


def golden_image(width: int = 640, height: int = 480, step: int = 0) -> np.ndarray:
    """A (height, width, 3) uint8 picture made of integer arithmetic only (the same bytes on every machine):
    two ramps, a 16-px checkerboard (fine detail, so a wrong resize filter shows) and a red disk that moves
    ``step`` x 12 px to the right."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    r = (x + 2 * y) % 256
    g = (3 * x + 5 * (height - y)) % 256
    b = ((x // 16 + y // 16) % 2) * 200 + 20
    image = np.stack([r, g, b], axis=-1)
    cx, cy, radius = width // 3 + 12 * step, height // 2, min(width, height) // 6
    image[(x - cx) ** 2 + (y - cy) ** 2 < radius**2] = (230, 40, 40)
    return image.astype(np.uint8)


def golden_video(frames: int = 6, width: int = 320, height: int = 240) -> list[np.ndarray]:
    return [golden_image(width, height, step) for step in range(frames)]


# -- comparing ------------------------------------------------------------------------------------
def assert_summary(tensor: torch.Tensor, ref: dict, value_tol: float = 1e-5, what: str = "") -> None:
    t = tensor.detach().double()
    assert list(t.shape) == ref["shape"], f"{what}: shape {list(t.shape)} != {ref['shape']}"
    flat = t.flatten()
    scale = max(ref["abs_sum"], 1e-12)
    for name, value in (("sum", flat.sum()), ("abs_sum", flat.abs().sum()), ("sq_sum", (flat**2).sum())):
        assert abs(float(value) - ref[name]) <= 1e-5 * (scale if name != "sq_sum" else max(ref["sq_sum"], 1e-12)), \
            f"{what}: {name} {float(value)} != reference {ref[name]}"
    got = [float(flat[i]) for i in ref["picks"]]
    assert np.allclose(got, ref["values"], rtol=0, atol=value_tol), f"{what}: sampled values {got} != {ref['values']}"


def ids_record(ids: list[int], pad_id: int) -> dict:
    """The prompt ids with each run of image-pad tokens replaced by its length (as the golden file stores them)."""
    runs, kept, n = [], [], 0
    for t in ids:
        if t == pad_id:
            n += 1
            continue
        if n:
            runs.append(n)
            n = 0
        kept.append(t)
    if n:
        runs.append(n)
    return {"ids_without_image_pads": kept, "image_pad_runs": runs, "length": len(ids)}


# -- the engines ----------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["qwen3_vl", "qwen2_5_vl", "internvl"])
def golden(request, tmp_path_factory):
    """(engine of the tiny checkpoint handled as an official one, the reference's numbers for it)."""
    from sa2va_engine.sa2va import Sa2VA
    from sa2va_engine.testing.tiny_checkpoint import write_tiny_checkpoint
    from sa2va_engine.weights_digest import weights_sha256

    family = request.param
    ref = json.loads((GOLDEN_DIR / f"reference_{family}.json").read_text())
    directory = write_tiny_checkpoint(tmp_path_factory.mktemp(f"golden_{family}"), family, seed=0, handling=None)
    # The numbers belong to these weights: a changed factory needs the reference run again, not new tolerances.
    assert weights_sha256(directory) == ref["weights_sha256"], "the tiny checkpoint changed: regenerate the golden file"
    engine = Sa2VA.from_pretrained(directory, device="cpu", dtype=torch.float32)
    return engine, ref


def llm_inputs(engine, frames: list[np.ndarray], question: str) -> dict:
    from sa2va_engine.sa2va import _llm_images

    return engine.family.encode(engine.processor, _llm_images(frames), question).inputs


def seg_embedding(engine, frames: list[np.ndarray], question: str) -> torch.Tensor:
    from sa2va_engine import prompts
    from sa2va_engine.llm_runner import forced_seg_states
    from sa2va_engine.sa2va import _llm_images

    states = forced_seg_states(engine.model.mllm, engine.family, engine.processor, _llm_images(frames), [question],
                               prompts.FORCED_ANSWER, seg_id=engine.seg_id)
    return engine._prompt_tokens(states)


def mask_logits(engine, frames: list[np.ndarray], tokens: torch.Tensor) -> torch.Tensor:
    """(frames, 1, H, W) logits at the frames' size: the first five frames prompted, the rest from memory."""
    from sa2va_engine.mask_encoding import upscale_logits

    keys = set(range(min(5, len(frames))))
    out = [upscale_logits(result.low_res_logits, h, w, engine._mask_via)
           for _, (h, w), result in engine._stream(((float(i), f) for i, f in enumerate(frames)), tokens, keys)]
    return torch.stack(out)


def cases(ref: dict) -> dict:
    """The forced-[SEG] requests the golden file has (InternVL's: the demo's wording only)."""
    from sa2va_engine import prompts

    image, video = [golden_image()], golden_video()
    return {key: case for key, case in {
        "image_segment": (image, prompts.referring_prompt(QUESTION)),
        "video_segment": (video, prompts.referring_prompt(QUESTION)),
        "refcoco_prompt": (image, prompts.evaluation_prompt(QUESTION, "refcoco")),
        "ref_vos_prompt": (video, prompts.evaluation_prompt(QUESTION, "ref_vos")),
        "ref_vos_question_prompt": (video, prompts.evaluation_prompt("what is red?", "ref_vos")),
    }.items() if key in ref}


CHATS = (("image_chat", "Describe the image."), ("video_chat", "Describe the video."), ("text_chat", "Describe a dog."))


def chat_frames(key: str) -> list[np.ndarray]:
    return {"image_chat": [golden_image()], "video_chat": golden_video(), "text_chat": []}[key]


def image_slot_token(engine) -> int:
    """The token an image's features take the place of (as the golden file counts them)."""
    name = "<IMG_CONTEXT>" if engine.family.name == "internvl" else "<|image_pad|>"
    return engine.family.tokenizer(engine.processor).convert_tokens_to_ids(name)


# -- the tests ------------------------------------------------------------------------------------
def test_llm_prompt_ids_pixels_and_grid_match_the_reference(golden):
    from sa2va_engine.qwen_image_sizing import fetch_resize
    from sa2va_engine.sa2va import _llm_images

    engine, ref = golden
    pad = image_slot_token(engine)
    for key, (frames, question) in cases(ref).items():
        inputs = llm_inputs(engine, frames, question)
        want = ref[key]
        record = ids_record(inputs["input_ids"][0].tolist(), pad)
        assert record == want["prompt"], key
        if "image_grid_thw" in want:  # Qwen-VL: the reference's two-step sizing
            assert inputs["image_grid_thw"].tolist() == want["image_grid_thw"], key
            assert [list(fetch_resize(im).size) for im in _llm_images(frames)] == want["llm_image_sizes"], key
        assert_summary(inputs["pixel_values"], want["pixel_values"], what=f"{key} pixel_values")
    for key, question in CHATS:
        if "prompt" in ref.get(key, {}):
            record = ids_record(llm_inputs(engine, chat_frames(key), question)["input_ids"][0].tolist(), pad)
            assert record == ref[key]["prompt"], key


def test_sam2_input_matches_the_reference(golden):
    engine, ref = golden
    pixels = engine.model.sam2.input_pixels(golden_image(), "cpu")
    assert_summary(pixels, ref["sam2_input_image"], what="SAM-2 input")


def test_seg_embedding_and_mask_logits_match_the_reference(golden):
    engine, ref = golden
    for key, (frames, question) in cases(ref).items():
        tokens = seg_embedding(engine, frames, question)
        assert_summary(tokens[:, 0], ref[key]["seg_embedding"], what=f"{key} [SEG] embedding")
        logits = mask_logits(engine, frames, tokens)
        assert_summary(logits, ref[key]["mask_logits"], value_tol=1e-4, what=f"{key} mask logits")
        frame_sums = [float(f.double().sum()) for f in logits]
        assert np.allclose(frame_sums, ref[key]["mask_logits_frame_sums"], rtol=0,
                           atol=1e-5 * ref[key]["mask_logits"]["abs_sum"]), key
        for i, frame in enumerate(logits[:, 0]):
            near_zero = int((frame.abs() < 1e-6).sum())
            assert abs(int((frame > 0).sum()) - ref[key]["mask_pixels"][i]) <= near_zero, (key, i)


def test_segment_and_track_give_the_compared_masks(golden):
    """The public API on the same clip: `segment`'s masks are the logits compared above, thresholded at 0, and
    `track`'s points follow the same masks (present where SAM-2 scores the object so)."""
    engine, ref = golden
    video = golden_video()
    expected = mask_logits(engine, video, seg_embedding(engine, video, cases(ref)["video_segment"][1]))[:, 0] > 0
    seg = engine.segment(video, QUESTION)
    assert np.array_equal(seg.masks, expected.numpy())
    (masklet,) = engine.track(video, [QUESTION])
    for point, mask, score in zip(masklet.points, expected, seg.scores):
        assert point.present == bool(score >= 0.5 and mask.any())
        if point.present:
            assert point.area == int(mask.sum())


def test_an_object_scored_absent_keeps_its_mask_unless_the_handling_empties_it(golden):
    """(b): the reference returns SAM-2's mask whatever the object score; "empty" is the sam2 package's -1024."""
    from sa2va_engine.input_handling import REFERENCE
    from sa2va_engine.testing.tiny_parts import mark_objects_present

    engine, _ = golden
    sam = engine.model.sam2
    head = sam.sam_mask_decoder.pred_obj_score_head.layers[-1]
    saved = {k: v.clone() for k, v in head.state_dict().items()}
    image = golden_image()
    try:
        masks = {}
        for logit in (4.0, -4.0):
            mark_objects_present(engine.model, logit=logit)
            masks[logit] = engine.segment(image, QUESTION)
        sam.handling = REFERENCE.model_copy(update={"absent_masks": "empty"})
        emptied = engine.segment(image, QUESTION)
    finally:
        head.load_state_dict(saved)
        sam.handling = engine.handling
    assert masks[-4.0].scores[0] < 0.5 < masks[4.0].scores[0]
    assert masks[4.0].masks.any() and np.array_equal(masks[-4.0].masks, masks[4.0].masks)
    assert not emptied.masks.any()


def test_greedy_answers_match_the_reference(golden):
    from sa2va_engine.sa2va import _llm_images

    engine, ref = golden
    for key, question in CHATS:
        if key not in ref:
            continue
        frames = chat_frames(key)
        out = engine._generate(_llm_images(frames) if frames else [], question, None, 32)
        want = ref[key]["answer_ids"]
        # The engine stops at the turn's end token; the reference (no generation_config here) runs on.
        assert out.token_ids == want[:len(out.token_ids)] and len(out.token_ids) >= min(len(want), 6), key


def test_the_tolerances_catch_the_direct_handling(golden):
    """Each part of this project's own ("direct") handling fails the comparison it differs in."""
    from sa2va_engine.input_handling import DIRECT, REFERENCE
    from sa2va_engine.mask_encoding import upscale_logits

    engine, ref = golden
    sam = engine.model.sam2
    try:
        sam.handling = REFERENCE.model_copy(update={"sam2_resize": DIRECT.sam2_resize})
        with pytest.raises(AssertionError):
            assert_summary(sam.input_pixels(golden_image(), "cpu"), ref["sam2_input_image"])
    finally:
        sam.handling = engine.handling
    frames, question = cases(ref)["image_segment"]
    tokens = seg_embedding(engine, frames, question)
    (_, (h, w), result), = engine._stream(((0.0, f) for f in frames), tokens, {0})
    with pytest.raises(AssertionError):
        assert_summary(upscale_logits(result.low_res_logits, h, w, None)[None], ref["image_segment"]["mask_logits"],
                       value_tol=1e-4)
    if engine.family.name == "internvl":
        return  # its tiling is the reference's whatever the handling says
    processor = engine.processor.processor  # the checkpoint's own processor, without the reference's sizing
    inputs = engine.family.encode(processor, [__import__("PIL.Image").Image.fromarray(frames[0])], question).inputs
    assert inputs["image_grid_thw"].tolist() != ref["image_segment"]["image_grid_thw"]
