"""The sweep for objects no phrase covers: each key frame grounded alone, each [SEG] of the chunk's grounded caption
tracked as its own object, and only what finds a new object kept (agent/indexing/chunk_analyser.py)."""

from __future__ import annotations

import numpy as np
import pytest

from agent.indexing.chunk_analyser import ChunkAnalyser, Grounding, MovedName, _moved_last
from agent.indexing.index_settings import IndexSettings
from agent.indexing.object_links import new_finds
from sa2va_engine.results import GroundedCaption, GroundedPhrase, SegPrompt
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.masklet import Masklet, TrackPoint
from tests.test_object_links import square, track
from tools.clip import Clip, decode_clip
from tools.mask_colour import with_colours
from tools.motion_regions import moving_regions
from tools.video_decode import DecodedFrame
from tools.sa2va_track import TrackRequest


@pytest.fixture(scope="module")
def engine(tracking_checkpoint):
    return Sa2VA.from_pretrained(tracking_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def clip(shared_videos):
    return decode_clip(shared_videos / "01_dog.mp4", 0.0, 3.0, sample_fps=2.0, max_side=128)


# -- the engine: a generated [SEG] state is a prompt --------------------------------------------------------------
def test_a_seg_state_tracks_its_object_as_its_expression_does(engine, clip):
    """The state at a [SEG] is what SAM-2 is prompted with, wherever it came from: tracked as a prompt it gives the
    very masks the expression it was forced after gives, and the masklet is named by its phrase."""
    keys = clip.key_indices(3)
    state = engine._forced_states([clip.frames[k].image for k in keys], ["the dog"])[0]
    by_words = engine.track(clip.frames, ["the dog"], key_frames=keys, prompt_every_frame=True)
    by_state = engine.track(clip.frames, [], key_frames=keys, prompt_every_frame=True,
                            seg_prompts=[SegPrompt("a dog", state)])
    both = engine.track(clip.frames, ["the dog"], key_frames=keys, prompt_every_frame=True,
                        seg_prompts=[SegPrompt("a dog", state)])
    assert [m.expression for m in by_state] == ["a dog"] and [m.expression for m in both] == ["the dog", "a dog"]
    for words, prompt, second in zip(by_words[0].points, by_state[0].points, both[1].points):
        assert words.present == prompt.present == second.present
        assert words.box == pytest.approx(prompt.box, abs=1) if words.box else prompt.box is None


def test_a_track_request_needs_something_to_track(clip):
    with pytest.raises(ValueError, match="at least one expression"):
        TrackRequest(clip=clip, expressions=[])


# -- which of the sweep's tracks are kept -------------------------------------------------------------------------
def _sized(name: str, xs: dict[float, int], size: int) -> Masklet:
    return Masklet(expression=name, points=[TrackPoint.from_mask(t, square(x, size), 0.9) for t, x in xs.items()])


def test_only_sweep_tracks_that_find_a_new_object_are_kept():
    phrase = track("the dog", {0.0: 10, 0.5: 12, 1.0: 14})
    swept = [
        track("the dog again", {0.0: 11, 0.5: 12, 1.0: 15}),  # the phrase's object: dropped
        track("never seen", {0.0: None, 0.5: None}),  # no object at all: dropped
        _sized("its nose", {0.0: 15, 0.5: 17, 1.0: 19}, size=10),  # a part of the dog (IoU 0.25, all inside): dropped
        track("a ball", {0.0: 60, 0.5: 62, 1.0: 64}),  # a new object: kept
        track("a ball too", {0.0: 60, 0.5: 62, 1.0: 64}),  # the new object again: dropped
        _sized("a speck", {0.0: 40, 0.5: 40, 1.0: 40}, size=2),  # 4 pixels of 6144, apart from both: dropped
        track("crossing", {0.0: 60, 0.5: 36, 1.0: 10}),  # on each for a moment, inside neither mostly: kept
    ]
    kept = new_finds([phrase, *swept], kept=1)
    assert [m.expression for m in kept] == ["the dog", "a ball", "crossing"]


def test_with_apart_only_a_mask_over_the_find_and_another_object_apart_does_not_hold_it():
    """The second tracking pass's rule (agent/indexing/gap_fill.py): a stored mask over two objects apart (a union)
    does not hold either; a mask of one object does, and so does one over two objects that touch."""
    union = Masklet(expression="the white dog", points=[TrackPoint.from_mask(0.0, square(10) | square(60), 0.9)])
    touching = Masklet(expression="the white dog", points=[TrackPoint.from_mask(0.0, square(10) | square(30), 0.9)])
    ball = track("the white ball", {0.0: 60})
    assert new_finds([union, ball], kept=1) == [union]
    assert new_finds([union, ball], kept=1, apart_only=True) == [union, ball]
    assert new_finds([track("the dog", {0.0: 60}), ball], kept=1, apart_only=True) == [track("the dog", {0.0: 60})]
    assert new_finds([touching, track("a ball", {0.0: 30})], kept=1, apart_only=True) == [touching]


def test_the_phrases_are_kept_whatever_the_sweep_finds():
    """The first `kept` tracks (the caption's phrases and the watch list) are never dropped here, even if never
    present or alike: what they mean is the link step's to decide, as before the sweep."""
    phrases = [track("the dog", {0.0: 10}), track("a dog", {0.0: 10}), track("nothing", {0.0: None})]
    assert new_finds(phrases, kept=3) == phrases
    assert new_finds([*phrases, track("the dog", {0.0: 10})], kept=3) == phrases


# -- the analyser: what is generated and what is tracked ----------------------------------------------------------
def _stub_grounding(engine, monkeypatch, clip) -> dict[str, list]:
    """The engine's grounded captions replaced by known ones: the chunk's names "the dog" twice (two clauses, two
    [SEG] states) and "a cat" once; a key frame alone names "a person" on the first frame, "the dog" on the others.
    Returns the calls made."""
    calls: dict[str, list] = {"clip": [], "frames": []}
    state = engine._forced_states([clip.frames[0].image], ["the dog", "a cat"])

    def phrase(text):
        return GroundedPhrase(text, np.zeros((0, 2, 2), bool), np.zeros(0))

    def chunk_caption(visual, max_new_tokens=256, with_masks=True):
        calls["clip"].append(len(visual))
        raw = "<p>the dog</p> [SEG] runs, <p>a cat</p> [SEG] sleeps and <p>The dog</p> [SEG] sits"
        return GroundedCaption(text="the dog runs, a cat sleeps and The dog sits", raw=raw,
                               phrases=[phrase("the dog"), phrase("a cat"), phrase("The dog")],
                               seg_prompts=[SegPrompt("the dog", state[0]), SegPrompt("a cat", state[1]),
                                            SegPrompt("The dog", state[0])])

    def frame_captions(visuals, max_new_tokens=256):
        calls["frames"].append([len(v) for v in visuals])
        names = ["a person"] + ["the dog"] * (len(visuals) - 1)
        return [GroundedCaption(text=n, raw=f"<p>{n}</p> [SEG]", phrases=[phrase(n)]) for n in names]

    monkeypatch.setattr(engine, "ground_caption", chunk_caption)
    monkeypatch.setattr(engine, "ground_caption_batch", frame_captions)
    return calls


def test_the_sweep_grounds_each_key_frame_alone_in_one_batch_and_tracks_every_seg(engine, clip, monkeypatch, tmp_path):
    calls = _stub_grounding(engine, monkeypatch, clip)
    settings = IndexSettings(db=tmp_path / "i.duckdb", key_frames=3, watch=["a car"], prompt_every_frame=True,
                             motion_sweep=False)  # what moves: the tests below
    analyser = ChunkAnalyser(settings, lambda: engine)
    grounding = analyser.ground(clip)
    assert calls == {"clip": [3], "frames": [[1, 1, 1]]}  # the chunk's caption, then its 3 key frames in one batch
    assert grounding.expressions == ["the dog", "a cat", "a car"] and grounding.swept == ["a person"]
    # Each [SEG] of a phrase given twice (the words track one of the two objects); "a cat"'s words track it.
    assert [p.phrase for p in grounding.seg_prompts] == ["the dog", "The dog"]

    asked = []
    track_many = engine.track_many
    monkeypatch.setattr(engine, "track_many", lambda inputs, frame_batch=1: asked.extend(inputs) or
                        track_many(inputs, frame_batch))
    masklets = analyser.track(clip, grounding)
    assert list(asked[0].expressions) == ["the dog", "a cat", "a car", "a person"] and len(asked[0].seg_prompts) == 2
    # The phrases and the watch list always; of the sweep, what is a new object (new_finds decides, tested above).
    assert [m.expression for m in masklets[:3]] == ["the dog", "a cat", "a car"]
    tracked = with_colours(track_many(asked, 1)[0], clip.images())  # the tracking tool adds each mask's colour
    assert masklets == new_finds(tracked, 3)


def test_without_the_sweep_a_chunk_is_grounded_once_and_only_its_phrases_tracked(engine, clip, monkeypatch, tmp_path):
    calls = _stub_grounding(engine, monkeypatch, clip)
    settings = IndexSettings(db=tmp_path / "i.duckdb", key_frames=3, sweep=False, prompt_every_frame=True)
    analyser = ChunkAnalyser(settings, lambda: engine)
    grounding = analyser.ground(clip)
    assert calls == {"clip": [3], "frames": []}
    assert grounding == Grounding(raw=grounding.raw, expressions=["the dog", "a cat"])
    assert [m.expression for m in analyser.track(clip, grounding)] == ["the dog", "a cat"]


def test_a_failed_batch_of_key_frames_is_grounded_one_by_one(engine, clip, monkeypatch, tmp_path):
    """Out of memory on the key frames' batch is not the chunk's failure: each frame is grounded alone instead."""
    calls = _stub_grounding(engine, monkeypatch, clip)

    def out_of_memory(visuals, max_new_tokens=256):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(engine, "ground_caption_batch", out_of_memory)
    settings = IndexSettings(db=tmp_path / "i.duckdb", key_frames=3)
    grounding = ChunkAnalyser(settings, lambda: engine).ground(clip)
    assert calls["clip"] == [3, 1, 1, 1]
    assert grounding.expressions == ["the dog", "a cat"] and grounding.swept == []  # frames alone name those too



# -- what moves: named up close, tracked, kept where its track covers it ------------------------------------------
def _moving_clip() -> Clip:
    """Eight 4-fps frames of a still grey scene in which a purple square crosses from left to right."""
    frames = []
    for i in range(8):
        image = np.full((64, 96, 3), 110, np.uint8)
        image[30:46, 8 + 9 * i:24 + 9 * i] = (140, 40, 180)
        frames.append(DecodedFrame(time_s=i / 4, index=i, image=image))
    return Clip(video_path="moving.mp4", start_s=0.0, end_s=2.0, frames=frames)


def test_what_moves_is_named_up_close_in_one_batch_and_only_new_names_are_tracked(engine, monkeypatch, tmp_path):
    clip = _moving_clip()
    _stub_grounding(engine, monkeypatch, clip)
    asked_names: list[list] = []

    def region_names(regions, max_new_tokens=12):
        asked_names.append([box for _, box in regions])
        return ["The dog.", "the purple box", "Sure, [SEG]."][:len(regions)]

    monkeypatch.setattr(engine, "region_names", region_names)
    regions = moving_regions([f.image for f in clip.frames])
    assert len(regions) == 1  # the square
    settings = IndexSettings(db=tmp_path / "i.duckdb", key_frames=3, prompt_every_frame=True)
    grounding = ChunkAnalyser(settings, lambda: engine).ground(clip)
    assert len(asked_names) == 1 and len(asked_names[0]) == 1  # one generation for the chunk's moving regions
    assert asked_names[0][0] == pytest.approx(regions[0].box, abs=1e-6)
    # "The dog." is a name the caption gave already: nothing to look for.
    assert grounding.moved == []

    monkeypatch.setattr(engine, "region_names", lambda regions, max_new_tokens=12: ["the purple box"] * len(regions))
    grounding = ChunkAnalyser(settings, lambda: engine).ground(clip)
    assert grounding.moved == [MovedName(name="the purple box", frame_index=regions[0].frame_index,
                                         box=regions[0].box)]
    asked = []
    track_many = engine.track_many
    monkeypatch.setattr(engine, "track_many", lambda inputs, frame_batch=1: asked.extend(inputs) or
                        track_many(inputs, frame_batch))
    ChunkAnalyser(settings, lambda: engine).track(clip, grounding)
    assert list(asked[0].expressions)[-1] == "the purple box"  # after the phrases and the key frames' names


def test_a_moved_name_is_kept_only_where_its_track_covers_what_moved_and_after_every_other_find():
    moved = [MovedName(name="the purple box", frame_index=1, box=(40, 10, 60, 30)),
             MovedName(name="the white dog", frame_index=1, box=(40, 10, 60, 30))]
    grounding = Grounding(expressions=["the dog"], swept=["a cat"], moved=moved)
    phrase, swept = track("the dog", {0.0: 0, 0.25: 2}), track("a cat", {0.0: 70, 0.25: 70})
    covers = track("the purple box", {0.0: 38, 0.25: 41})  # on the region at frame 1: box IoU ~0.9
    elsewhere = track("the white dog", {0.0: 0, 0.25: 2})  # the name found the dog, not what moved
    seg = track("a dog", {0.0: 10, 0.25: 12})
    assert _moved_last([phrase, swept, covers, elsewhere, seg], grounding) == [phrase, swept, seg, covers]
    absent = track("the purple box", {0.0: 38, 0.25: None})
    assert _moved_last([phrase, swept, absent, elsewhere, seg], grounding) == [phrase, swept, seg]
