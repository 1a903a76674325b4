"""`sva query` on an index built by `sva index`: well-formed moments inside the videos whose evidence points at
stored rows, retrieval-only and verified; the model's plan is used only when it validates."""

from __future__ import annotations

import json

import pytest

from agent.demo.metrics import temporal_iou
from agent.query.query_answer import QuerySettings
from agent.query.query_graph import QueryRunner, run_query
from index.reader import IndexReader
from sa2va_engine.sa2va import Sa2VA
from tests.agent_fixtures import run_sva


def check_moments(db, moments):
    reader = IndexReader(db)
    library = {v.path: v for v in reader.library()}
    assert moments, "the dog is tracked in every chunk, so there is something to find"
    for m in moments:
        video = library[m.video_path]
        assert 0 <= m.start_s <= m.end_s <= video.duration_s
        assert m.evidence
        objects = {o.object_id for o in reader.objects(m.video_path)}
        for ev in m.evidence:
            if ev.object_id is not None:
                assert ev.object_id in objects
                stored = {p.time_s for p in reader.tracks(ev.object_id)}
                assert set(ev.track_times) <= stored, "evidence times are stored track points of that object"
    return library


def test_retrieval_only_answer(indexed_library):
    db, videos, _ = indexed_library
    answer = run_query("find every moment the dog plays", QuerySettings(db=db, verify=False))
    assert answer.plan.subject == "the dog" and answer.plan.parsed_by == "fallback"
    assert answer.route == "retrieval"
    assert not answer.verified and all(not ev.verified for m in answer.moments for ev in m.evidence)
    check_moments(db, answer.moments)
    assert any(ev.object_id is not None and ev.track_times for m in answer.moments for ev in m.evidence)
    assert answer.answer.startswith(f"{len(answer.moments)} retrieved (not verified) moment(s)")


def test_verified_answer_is_bounded_and_scored_by_the_model(indexed_library, tracking_checkpoint):
    db, videos, _ = indexed_library
    engine = Sa2VA.from_pretrained(tracking_checkpoint)
    calls, batches = [], []
    real = engine.yes_probabilities
    engine.yes_probabilities = lambda visuals, q: calls.extend([q] * len(visuals)) or batches.append(len(visuals)) \
        or real(visuals, q)
    settings = QuerySettings(db=db, max_verify=2, threshold=0.0)
    # Not an event kind nor a state: "plays" is checked by the model on the chunks where the dog is seen.
    answer = run_query("find every moment the dog plays", settings, engine=engine)
    assert answer.route == "verify" and answer.objects
    chunks = IndexReader(db).object_chunks(answer.objects)
    assert len(chunks) > 2, "the dog is seen in more chunks than the budget"
    assert len(calls) == 2 and answer.verified_chunks == 2, "the --max-verify budget bounds the model calls"
    assert answer.note == f"verified 2 of {len(chunks)} candidate chunks (--max-verify); raise it to check them all"
    assert answer.note in answer.answer
    calls.clear()
    batches.clear()
    everything = run_query("find every moment the dog plays", settings.model_copy(update={"max_verify": 400}),
                           engine=engine)
    assert len(calls) == len(chunks) and everything.note is None, "every chunk where the subject is seen is checked"
    assert max(batches) > 1, "several chunks share one forward pass"
    assert calls[0] == answer.plan.verify_question()
    assert answer.verified and answer.candidates == 2
    check_moments(db, answer.moments)
    for m in answer.moments:
        assert all(ev.verified and 0 <= ev.verify_score <= 1 for ev in m.evidence)
        assert m.score == max(ev.verify_score for ev in m.evidence)
    # Localization matched the stored track of "the dog": evidence names its object with stored times.
    assert any(ev.object_id is not None and ev.track_times for m in answer.moments for ev in m.evidence)

    strict = run_query("find every moment the dog plays", settings.model_copy(update={"threshold": 1.0}), engine=engine)
    assert strict.moments == [] and strict.answer.startswith("No moment found")


def test_video_and_time_filters(indexed_library, tracking_checkpoint):
    db, videos, _ = indexed_library
    settings = QuerySettings(db=db, verify=False)
    answer = run_query("show the dog after 0:05 in 06_pingpong.mp4", settings)
    assert answer.plan.video == "06_pingpong.mp4" and answer.plan.start_s == 5
    assert answer.moments and {m.video_path for m in answer.moments} == {str(videos[1].resolve())}
    assert all(m.end_s >= 5 for m in answer.moments)
    unknown = run_query("show the dog in cam3.mp4", settings)
    assert unknown.moments == [] and unknown.errors == ["cam3.mp4: no indexed video has this name"]


def test_model_plan_used_only_when_it_validates(indexed_library, tracking_checkpoint):
    db, _, _ = indexed_library
    engine = Sa2VA.from_pretrained(tracking_checkpoint)
    settings = QuerySettings(db=db, top_n=1)
    runner = QueryRunner(settings, engine)
    # Random weights answer gibberish: the fallback parser takes over.
    assert runner.parse({"question": "show the goalkeeper diving"})["plan"].parsed_by == "fallback"

    class Answer:
        text = '```json\n{"subject": "the goalkeeper", "predicate": "dives", "video": null}\n```'
        seg_count = 0

    engine.chat = lambda *a, **k: Answer()
    plan = runner.parse({"question": "show the goalkeeper diving"})["plan"]
    assert (plan.parsed_by, plan.subject, plan.predicate) == ("model", "the goalkeeper", "dives")


def test_moved_video_is_named_and_others_still_verified(indexed_library, tracking_checkpoint, tmp_path):
    import shutil

    db, videos, _ = indexed_library
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    # Point one video's row at a path that no longer exists, as if the file was moved after indexing.
    from index.connection import write_transaction

    with write_transaction(copy, 30) as con:
        con.execute("UPDATE videos SET path = ? WHERE path = ?", [str(tmp_path / "moved.mp4"), str(videos[0].resolve())])
    engine = Sa2VA.from_pretrained(tracking_checkpoint)
    # "plays" is read by no stored kind: the model checks each chunk, and the moved file's cannot be decoded.
    answer = run_query("the dog plays", QuerySettings(db=copy, top_n=9, threshold=0.0, model_parser=False),
                       engine=engine)
    assert any("moved.mp4" in e for e in answer.errors)
    assert answer.moments and all("moved.mp4" not in m.video_path for m in answer.moments)


def test_cli_query_json_and_text(indexed_library, tracking_checkpoint):
    db, _, _ = indexed_library
    result = run_sva("query", "find every moment the dog plays", "--db", str(db), "--model", str(tracking_checkpoint),
                     "--top-n", "2", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["verified"] and answer["moments"]
    text = run_sva("query", "the dog", "--db", str(db), "--no-verify")
    assert text.returncode == 0 and text.stdout.splitlines()[0].endswith(")."), text.stdout


@pytest.mark.parametrize("question", ["", "   ", "?!"])
def test_unparseable_question_is_a_usage_error(indexed_library, question):
    db, _, _ = indexed_library
    result = run_sva("query", question, "--db", str(db), "--no-verify")
    assert result.returncode == 2 and result.stderr.startswith("sva: ") and "Traceback" not in result.stderr


def test_refinement_keeps_only_the_windows_that_pass(monkeypatch, tmp_path):
    import numpy as np

    import agent.query.query_graph as qg
    from tools.clip import Clip
    from tools import sa2va_verify
    from tools.sa2va_verify import VerifyReply
    from tools.video_decode import DecodedFrame

    frames = [DecodedFrame(time_s=10 + i / 4, index=i, image=np.zeros((8, 8, 3), np.uint8)) for i in range(16)]
    clip = Clip(video_path="v.mp4", start_s=10.0, end_s=14.0, frames=frames)
    asked = []

    def fake_verify(engine, request):
        asked.append(request.clip.start_s)
        # "The event" is 11.2-12.4 s: a window passes when it is mostly inside it.
        inside = min(12.4, request.clip.end_s) - max(11.2, request.clip.start_s)
        return VerifyReply(p_yes=0.9 if inside >= 0.5 else 0.1, frame_times=request.clip.times())

    # The query graph imports its model tools where it uses them (an event question loads no torch),
    # so the tool is replaced in its own module.
    monkeypatch.setattr(sa2va_verify, "verify_clip", fake_verify)
    runner = qg.QueryRunner.__new__(qg.QueryRunner)
    runner.settings = QuerySettings(db=tmp_path / "x.duckdb", refine_window_s=1.0)
    runner._engine = object()
    spans = runner._refine(clip, "In this video, does the following happen: the ball jumps?")
    assert asked == [10.0, 10.5, 11.0, 11.5, 12.0, 12.5, 13.0]
    assert spans == [(11.0, 12.5, 0.9)]  # windows 11-12 and 11.5-12.5 pass; 12-13 holds only 0.4 s of it


def _hopping_masklet(clip, hop: tuple[float, float] | None):
    """The subject's track on the clip's frames: a box that rises by a third of the height inside ``hop``."""
    import numpy as np

    from sa2va_engine.masklet import Masklet, TrackPoint

    points = []
    for frame in clip.frames:
        h, w = frame.image.shape[:2]
        lift = int(h / 3) if hop and hop[0] <= frame.time_s <= hop[1] else 0
        mask = np.zeros((h, w), bool)
        mask[h // 2 - lift: h - 10 - lift, w // 4: w // 2] = True
        points.append(TrackPoint.from_mask(frame.time_s, mask, 0.9))
    return Masklet(expression="the dog", points=points)


def test_a_jump_is_localized_from_the_track_and_a_grounded_track_gives_no_moment(indexed_library, tracking_checkpoint,
                                                                                 monkeypatch):
    import agent.query.query_graph as qg
    from tools import sa2va_track
    from tools.sa2va_track import TrackReply

    db, videos, _ = indexed_library
    dog = str(videos[0].resolve())
    engine = Sa2VA.from_pretrained(tracking_checkpoint)
    settings = QuerySettings(db=db, top_n=20, threshold=0.0, model_parser=False, gap_s=0.0, min_len_s=0.0)
    # A subject no stored object is named after: candidates come from text search and the track is made now.
    question = f"find every moment the acrobat jumps in {videos[0].name}"
    hop = (4.0, 5.0)  # seconds of the dog clip
    monkeypatch.setattr(sa2va_track, "track_clip", lambda e, request: TrackReply(masklets=[_hopping_masklet(
        request.clip, hop if request.clip.start_s <= hop[0] and hop[1] <= request.clip.end_s else None)]))
    answer = run_query(question, settings, engine=engine)
    assert answer.verified and answer.moments
    assert len(answer.moments) == 1
    m = answer.moments[0]
    # The span runs halfway to the grounded frames on each side of the lifted ones (2 fps: 0.25 s).
    assert m.video_path == dog and temporal_iou((m.start_s, m.end_s), hop) >= 0.5
    assert hop[0] - 0.5 < m.start_s < hop[0] and hop[1] - 0.5 < m.end_s < hop[1] + 0.5

    monkeypatch.setattr(sa2va_track, "track_clip", lambda e, request: TrackReply(masklets=[_hopping_masklet(request.clip, None)]))
    grounded = run_query(question, settings, engine=engine)
    assert grounded.verified and grounded.candidates and grounded.moments == []
