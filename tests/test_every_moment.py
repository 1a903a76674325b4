"""Every moment means every: generated videos with known events through `sva index` + `sva query --json` at
default settings (`--model demo` only), answered from the stored events; one set of defaults for index, query
and demo; events of an older index come from replaying its stored tracks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from agent.demo.demo_run import UNSEEN_SEEDS, jumping_world
from agent.demo.metrics import match_events, temporal_iou
from index.reader import IndexReader
from index.schema import CURRENT_VERSION
from tests.agent_fixtures import REPO, run_sva, sva_cmd, sva_env
from tools.synthetic_video import write_world_video
from tools.track_event import STATE_KINDS

# Seeds no other test or bench draws (the demo model's training never does: agent/demo/demo_run.py).
SEEDS = [UNSEEN_SEEDS + 40_000 + 1000 * k for k in range(3)]
# Rate over the three videos. The shipped model finds 8 of 9 jumps on bench.demo_accuracy's worlds and is
# held to 0.6 here: it tracks some worlds poorly (bench/README.md, "Every moment"), and three videos is a small
# sample.
JUMP_RECALL_FLOOR = 0.6
# Labels naming the right colour and kind, of the stored objects that follow a world's object: most of them. The
# model before it named objects up close had 0.20 on bench.every_moment's worlds (nearly everything "a ball");
# the goal is 0.9, which the shipped model does not reach yet (bench/README.md, "Every moment").
LABEL_FLOOR = 0.5
# Precision and recall by time of the states (moving, still, on the left) over the three videos: the jumps' floor,
# for the same reason (three videos, objects of one colour whose masks merge; bench.every_moment has 30 minutes).
STATE_FLOOR = 0.6


@pytest.fixture(scope="module")
def jump_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("every_moment")
    worlds = [jumping_world(seed, 20.0) for seed in SEEDS]
    videos = [write_world_video(w, root / f"world_{w.seed}.mp4") for w in worlds]
    db = root / "index.duckdb"
    result = run_sva("index", str(root), "--db", str(db), "--model", "demo", timeout=900)
    assert result.returncode == 0, result.stderr
    return db, worlds, videos


def test_index_runs_the_model_as_its_preset_says(jump_library):
    db, worlds, videos = jump_library
    con = duckdb.connect(str(db), read_only=True)
    try:
        spans = con.execute("SELECT start_s, end_s FROM chunks ORDER BY video_id, chunk_index LIMIT 2").fetchall()
        model = con.execute("SELECT model FROM jobs ORDER BY job_id DESC LIMIT 1").fetchone()[0]
        kinds = {k for (k,) in con.execute("SELECT DISTINCT kind FROM events").fetchall()}
    finally:
        con.close()
    assert spans == [(0.0, 4.0), (3.0, 7.0)], "the demo preset: a chunk every 3 s, each 1 s longer to overlap the next"
    assert model.endswith("demo_model"), "the index records the checkpoint it was built with"
    assert "jump" in kinds


def test_jump_questions_are_answered_from_stored_events(jump_library):
    db, worlds, videos = jump_library
    found = total = returned = matched = 0
    routes = []
    for world, video in zip(worlds, videos):
        jumper = next(o for o in world.objects if o.name == "red ball")
        events = [(e.start_s, e.end_s) for e in world.events_of(jumper.object_id, "jump")]
        # No --model: the query runs the model the index was built with, and needs none for an event.
        result = run_sva("query", f"find every moment the red ball jumps in {video.name}", "--db", str(db), "--json")
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["event"] == "jump"
        # A video whose red ball the model never named has no stored object to resolve: text search and
        # tracking at query time take over (the old path); every other answer comes from the events.
        routes.append(answer["route"])
        assert answer["route"] == ("events" if answer["objects"] else "retrieval")
        moments = [(m["start_s"], m["end_s"]) for m in answer["moments"]]
        for m in answer["moments"]:
            assert m["video_path"] == str(video.resolve())
            evidence = m["evidence"][0]
            if answer["route"] == "events":
                assert evidence["event"] == "jump" and evidence["rule"], "each moment says which rule made it"
                assert evidence["object_id"] in answer["objects"]
        hit = match_events(moments, events)
        found, total = found + hit, total + len(events)
        returned += len(moments)
        matched += sum(any(temporal_iou(m, e) >= 0.5 for e in events) for m in moments)
    print(f"jumps: found {found} of {total}, {matched} of {returned} moments match")
    assert total >= 3 and routes.count("events") >= 2
    assert found / total >= JUMP_RECALL_FLOOR


def _ask(db, question: str):
    """`sva query`'s graph in this process, with a reader that keeps no connection open between calls: the tests
    after it open the same file read-only, which DuckDB refuses beside an open read-write connection."""
    from agent.query.query_graph import QueryRunner
    from agent.run_settings import query_settings

    return QueryRunner(query_settings(db), reader=IndexReader(db, linger_s=0)).run(question)


def test_state_questions_are_answered_from_stored_states(jump_library):
    """"When is the X moving / still / on the left", for every object of the three videos, answered from the stored
    states (no model) and scored by time against the worlds' paths (bench/state_scores.py, what bench.every_moment
    reports on 30 minutes). One question goes through `sva query --json` too."""
    from bench.state_scores import QUESTIONS, said_frames, world_truth

    db, worlds, videos = jump_library
    totals = {state: [0, 0, 0] for state in ("moving", "still", "on_left", "visible", "moving_left")}  # true, said, both
    for world, video in zip(worlds, videos):
        times, per_object, _ = world_truth(world)
        for obj in world.objects:
            for state, total in totals.items():
                answer = _ask(db, QUESTIONS[state].format(name=obj.name) + f" in {video.name}")
                assert answer.event == state
                for m in answer.moments:
                    assert m.video_path == str(video.resolve())
                    if answer.route == "events":
                        assert m.evidence[0].event == state and m.evidence[0].rule
                said = said_frames(answer.moments, video.resolve(), times)
                truth, scored = per_object[(obj.object_id, state)]
                total[0] += int((truth & scored).sum())
                total[1] += int((said & scored).sum())
                total[2] += int((said & truth & scored).sum())
    print("states (true, said, both frames):", totals)
    for state, (true, said, both) in totals.items():
        assert true > 0 and said > 0, state
        assert both / said >= STATE_FLOOR and both / true >= STATE_FLOOR, (state, true, said, both)
    red = next(o for o in worlds[0].objects if o.name == "red ball")
    result = run_sva("query", f"when is the {red.name} moving in {videos[0].name}", "--db", str(db), "--json")
    answer = json.loads(result.stdout)
    assert result.returncode == 0 and answer["event"] == "moving" and answer["route"] == "events"
    assert "state moment(s)" in answer["answer"] or answer["answer"].startswith("No moment")


def test_a_state_asked_in_a_time_window_is_answered_inside_it(jump_library):
    """A state that holds across the window's start is cut there: "after 0:05" answers from 5 s on, not from when the
    state began (an event keeps its own span)."""
    db, _, videos = jump_library
    video = str(videos[0].resolve())
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "SELECT o.label, e.kind FROM events e JOIN objects o USING (object_id) "
            "JOIN videos v ON v.video_id = e.video_id WHERE v.path = ? AND e.kind IN ('moving', 'still') AND e.start_s < 4.5 AND e.end_s > 5.5 LIMIT 1",
            [video]).fetchone()
    assert row is not None, "the first world has an object moving or still across 5 s"
    label, kind = row
    answer = _ask(db, f"when is {label} {'moving' if kind == 'moving' else 'still'} after 0:05 in {videos[0].name}")
    assert answer.event == kind and answer.moments
    assert min(m.start_s for m in answer.moments) == 5.0
    assert all(m.end_s > m.start_s for m in answer.moments), "a span that only touches the window's edge is none"
    total = sum(m.end_s - m.start_s for m in answer.moments)
    assert f"({total:.1f} s in all)" in answer.answer, "how long: the answer sums the spans"


def _first_pair(jump_library) -> tuple:
    """(index, first object's name, second object's name, file name) of the first world."""
    db, worlds, videos = jump_library
    a, b = (o.name for o in worlds[0].objects[:2])
    return db, a, b, videos[0].name


def test_a_subject_of_two_objects_asks_about_both(jump_library):
    """"When are A and B near each other" is "when is A near B"; "when do A and B jump" takes the jumps of either."""
    db, a, b, file = _first_pair(jump_library)
    pair = _ask(db, f"when are the {a} and the {b} near each other in {file}")
    one = _ask(db, f"when is the {a} near the {b} in {file}")
    assert pair.event == one.event == "near" and pair.route == one.route == "events" and one.moments
    assert [(m.start_s, m.end_s) for m in pair.moments] == [(m.start_s, m.end_s) for m in one.moments]
    both = _ask(db, f"find every moment the {a} and the {b} jump in {file}")
    either = [_ask(db, f"find every moment the {name} jumps in {file}") for name in (a, b)]
    assert both.event == "jump" and set(both.objects) == set(either[0].objects) | set(either[1].objects)


def test_the_video_timeline_marks_each_stored_event_on_its_objects_row(jump_library):
    """The dashboard's timeline (ui/timeline.py): every stored jump of a video's objects is a mark on the row of its
    object, with its rule; the states are not drawn."""
    from ui.timeline import event_table, presence_table, timeline_chart

    db, worlds, videos = jump_library
    reader = IndexReader(db, linger_s=0)
    video = str(videos[0].resolve())
    presence = presence_table(reader, video)
    events = event_table(reader, presence)
    ids = [int(i) for i in presence["object_id"]]
    stored = reader.events(ids, ["jump"])
    assert stored, "the first world has a stored jump"
    jumps = events[events["kind"] == "jump"]
    assert len(jumps) == len(stored)
    rows = dict(zip(presence["object_id"], presence["object"]))
    assert sorted(zip(jumps["object"], jumps["start_s"])) == sorted((rows[str(e.object_id)], round(e.start_s, 2))
                                                                    for e in stored)
    assert all(jumps["rule"]) and not set(events["kind"]) & set(STATE_KINDS)
    spec = timeline_chart(presence, reader.video(video).duration_s, events=events).to_dict()
    assert any(layer.get("encoding", {}).get("shape", {}).get("field") == "kind" for layer in spec["layer"])


def test_stored_objects_are_named_with_their_colour_and_kind(jump_library):
    """#20 item 0: every stored object that follows a world's object (mask IoU > 0.3 on at least half its frames,
    bench.every_moment's matcher) is labelled with that object's colour and kind ("the red dog"), at a rate."""
    from bench.every_moment import score_objects

    db, worlds, videos = jump_library
    totals = score_objects(worlds, [v.resolve() for v in videos], db)
    print(f"labels: {totals['labels_right']} of {totals['stored_matched']} right, colours {totals['colours_right']}")
    assert totals["stored_matched"] >= 4
    assert totals["labels_right"] / totals["stored_matched"] >= LABEL_FLOOR


def test_an_event_question_loads_no_model_stack(jump_library):
    """Answered from the index alone: neither torch nor transformers is imported (they cost ~8 s of a start)."""
    db, _, _ = jump_library
    cmd = sva_cmd("query", "find every moment the red ball jumps", "--db", str(db), "--json")
    result = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=REPO, env=sva_env(), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["route"] == "events"
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "torch" not in imported and "transformers" not in imported
    assert "langgraph" in imported  # the import log was read


def test_all_videos_are_searched_at_once(jump_library):
    """Without a video name the subject resolves over the whole index: one answer holds several videos."""
    db, worlds, videos = jump_library
    result = run_sva("query", "find every moment the red ball jumps", "--db", str(db), "--json")
    answer = json.loads(result.stdout)
    assert answer["route"] == "events"
    assert len({m["video_path"] for m in answer["moments"]}) >= 2


def _stored_events(db, video, kinds) -> list[tuple[int, str, float, float]]:
    """(object, kind, start, end) of every stored event of `kinds` in `video`, straight from the events table."""
    marks = ", ".join("?" for _ in kinds)
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            f"SELECT e.object_id, e.kind, e.start_s, e.end_s FROM events e JOIN videos v USING (video_id) "
            f"WHERE v.path = ? AND e.kind IN ({marks})", [str(video.resolve()), *kinds]).fetchall()


def test_a_question_about_no_thing_in_particular_answers_with_every_objects_events(jump_library):
    """"Find every jump" names no subject: it is every stored object's jumps, from the events table (no model), each
    world's jumps found as for a named subject; "which objects jump" is the same question, through the CLI too."""
    db, worlds, videos = jump_library
    found = total = 0
    for world, video in zip(worlds, videos):
        answer = _ask(db, f"find every jump in {video.name}")
        assert answer.route == "events" and answer.event == "jump" and answer.plan.subject == "anything"
        stored = _stored_events(db, video, ["jump"])
        assert {o for o, *_ in stored} <= set(answer.objects)
        # Every stored jump is inside a moment of the answer, and every moment is a jump of the video.
        for _, _, start, end in stored:
            assert any(m.start_s <= start and end <= m.end_s for m in answer.moments), (start, end)
        assert all(m.evidence[0].event == "jump" and m.video_path == str(video.resolve()) for m in answer.moments)
        truth = [(e.start_s, e.end_s) for e in world.events if e.kind == "jump"]
        found += match_events([(m.start_s, m.end_s) for m in answer.moments], truth)
        total += len(truth)
        again = _ask(db, f"which objects jump in {video.name}")
        assert [(m.start_s, m.end_s) for m in again.moments] == [(m.start_s, m.end_s) for m in answer.moments]
    assert total >= 3 and found / total >= JUMP_RECALL_FLOOR
    result = run_sva("query", f"what jumps in {videos[0].name}", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["route"] == "events"


def test_what_a_thing_does_is_every_event_of_it(jump_library):
    """"What does the X do" answers with every stored event of X's objects (no states), each moment naming its kind;
    the answer line counts them by kind."""
    from agent.query.event_verbs import DESCRIBE_KINDS

    db, worlds, videos = jump_library
    video = videos[0]
    with duckdb.connect(str(db), read_only=True) as con:
        label = con.execute("SELECT o.label FROM objects o JOIN videos v USING (video_id) WHERE v.path = ? "
                            "ORDER BY o.last_seen_s - o.first_seen_s DESC LIMIT 1", [str(video.resolve())]).fetchone()[0]
    answer = _ask(db, f"what does {label} do in {video.name}")
    assert answer.route == "events" and answer.event_kinds == list(DESCRIBE_KINDS) and answer.moments
    stored = [e for e in _stored_events(db, video, list(DESCRIBE_KINDS)) if e[0] in answer.objects]
    assert stored and {m.evidence[0].event for m in answer.moments} == {kind for _, kind, _, _ in stored}
    for _, kind, start, end in stored:
        assert any(m.start_s <= start and end <= m.end_s and kind in {e.event for e in m.evidence}
                   for m in answer.moments), (kind, start, end)
    assert not {m.evidence[0].event for m in answer.moments} & set(STATE_KINDS)
    counts = ", ".join(f"{n} {k}" for k, n in _kind_counts(answer.moments))
    assert f"event ({counts}) moment(s) of 'what {label} does'" in answer.answer


def _kind_counts(moments) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for m in moments:
        for kind in {e.event for e in m.evidence}:
            counts[kind] = counts.get(kind, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


def test_the_first_and_the_last_occurrence_in_each_video(jump_library):
    """"The first jump" is each video's earliest of "every jump", "the last" its latest; a count past what a video
    has gives no moment and says how many there are."""
    db, _, videos = jump_library
    every = _ask(db, "find every jump")
    first, last = _ask(db, "the first jump"), _ask(db, "when does something jump for the last time")
    assert first.plan.nth == 1 and last.plan.nth == -1 and every.moments
    for video in {m.video_path for m in every.moments}:
        spans = sorted((m.start_s, m.end_s) for m in every.moments if m.video_path == video)
        assert [(m.start_s, m.end_s) for m in first.moments if m.video_path == video] == [spans[0]]
        assert [(m.start_s, m.end_s) for m in last.moments if m.video_path == video] == [spans[-1]]
    assert "(the first in each video, of" in first.answer
    in_first = sum(m.video_path == str(videos[0].resolve()) for m in every.moments)
    assert in_first < 5, "a 20-s world holds fewer than five jumps"
    many = _ask(db, f"the fifth jump in {videos[0].name}")
    assert many.moments == [] and f"no video has 5 of them ({in_first} found in all)" in many.answer


def test_the_highest_jump_and_the_longest_stillness_are_the_most_of_every_one(jump_library):
    """"The highest jump of the red ball" is, over every video, the stored jump of the greatest height; when the
    index holds the world's highest hop (apex in object heights), that is the one. "The longest time ... is still" is
    the longest of its still spans; "for more than N seconds" keeps those lasting N or more. A height is a jump's: "the
    highest stop" keeps nothing and says why."""
    db, worlds, videos = jump_library
    every = _ask(db, "all jumps of the red ball")
    sized = [(m.evidence[0].size, m) for m in every.moments if m.evidence and m.evidence[0].size is not None]
    assert len(sized) == len(every.moments) >= 2, "every stored jump has a height"
    highest = _ask(db, "the highest jump of the red ball")
    top = max(sized, key=lambda sm: sm[0])
    assert [(m.video_path, m.start_s) for m in highest.moments] == [(top[1].video_path, top[1].start_s)]
    assert highest.plan.superlative == "highest" and f"the highest of {len(sized)} found" in highest.answer
    two = _ask(db, "the 2 highest jumps of the red ball")
    assert [m.evidence[0].size for m in two.moments] == sorted((s for s, _ in sized), reverse=True)[:2]
    # Against the worlds' hops: the truly highest one, if the index holds it, is the answer.
    hops = [(hop.apex_px / o.height_px, str(video.resolve()), hop) for world, video in zip(worlds, videos)
            for o in world.objects if o.name == "red ball" for hop in o.path.hops]
    apex, video, hop = max(hops, key=lambda h: h[0])
    held = [m for m in every.moments if m.video_path == video
            and temporal_iou((m.start_s, m.end_s), (hop.start_s, hop.end_s)) >= 0.5]
    if held:
        assert highest.moments[0].video_path == video
        assert temporal_iou((highest.moments[0].start_s, highest.moments[0].end_s), (hop.start_s, hop.end_s)) >= 0.5
    assert sum(any(m.video_path == v and temporal_iou((m.start_s, m.end_s), (h.start_s, h.end_s)) >= 0.5
                   for m in every.moments) for _, v, h in hops) >= 2, "the index holds most of the hops"

    still = _ask(db, "when is the red ball still")
    lengths = sorted(m.end_s - m.start_s for m in still.moments)
    assert len(lengths) >= 2
    longest = _ask(db, "the longest time the red ball is still")
    assert [round(m.end_s - m.start_s, 6) for m in longest.moments] == [round(lengths[-1], 6)]
    bound = lengths[len(lengths) // 2]
    long_enough = _ask(db, f"when is the red ball still for more than {bound:.2f} seconds")
    assert long_enough.plan.min_duration_s == round(bound, 2)
    assert sorted(m.end_s - m.start_s for m in long_enough.moments) == [x for x in lengths if x >= round(bound, 2)]
    assert "lasting at least" in long_enough.answer

    stop = _ask(db, "the highest stop of the red ball")
    assert stop.moments == [] and "has a height (only jumps have one)" in stop.answer


def test_in_the_last_seconds_counts_back_from_each_video_s_own_end(jump_library):
    """"In the last 8 seconds" is each video's own last 8 s: an event that overlaps them is kept whole, a state is cut
    to them, and an answer with none says the window."""
    db, _, _ = jump_library
    durations = {v.path: v.duration_s for v in IndexReader(db, linger_s=0).library()}
    every = _ask(db, "all jumps of the red ball")
    last = _ask(db, "all jumps of the red ball in the last 8 seconds")
    assert last.plan.last_s == 8.0
    expected = sorted((m.video_path, m.start_s, m.end_s) for m in every.moments
                      if m.end_s >= durations[m.video_path] - 8.0)
    assert sorted((m.video_path, m.start_s, m.end_s) for m in last.moments) == expected
    assert len(expected) < len(every.moments), "the premise: some jumps are earlier"
    still = _ask(db, "when is the red ball still in the last 8 seconds")
    assert still.moments and all(m.start_s >= durations[m.video_path] - 8.0 - 1e-6 for m in still.moments)
    whole = _ask(db, "when is the red ball still")
    for video, duration in durations.items():
        cut = sum(min(m.end_s, duration) - max(m.start_s, duration - 8.0) for m in whole.moments
                  if m.video_path == video and m.end_s > duration - 8.0)
        assert sum(m.end_s - m.start_s for m in still.moments if m.video_path == video) == pytest.approx(cut)
    none = _ask(db, "all jumps of the red ball in the last 0.01 seconds")
    assert not none.moments and "in the last 0.01 s of each video" in none.answer
    # A predicate no rule reads is verified on the chunks where the subject is seen: only those of the last 8 s.
    plays = _ask(db, "when does the red ball play in the last 8 seconds in " + Path(next(iter(durations))).name)
    assert plays.route == "verify" and 0 < plays.candidates
    assert all(m.end_s >= durations[m.video_path] - 8.0 for m in plays.moments)
    whole_plays = _ask(db, "when does the red ball play in " + Path(next(iter(durations))).name)
    assert plays.candidates < whole_plays.candidates


def test_an_object_no_track_saw_is_no_answer_to_a_question(jump_library, tmp_path):
    """A phrase the model grounded on nothing leaves an object row with no track point: the subject does not resolve
    to it (it would count among the objects that match, and be sent to the model's check)."""
    import shutil

    db, _, _ = jump_library
    copy = tmp_path / "unseen.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        video_id, top = con.execute("SELECT min(video_id), max(object_id) FROM objects").fetchone()
        con.execute("INSERT INTO objects (object_id, video_id, first_chunk, label) VALUES (?, ?, 0, 'the red ball')",
                    [top + 1, video_id])
    reader = IndexReader(copy, linger_s=0)
    seen = {o.object_id for o in reader.object_names()}
    assert top + 1 not in seen and top in seen
    answer = _ask(copy, "find every moment the red ball jumps")
    assert answer.objects and top + 1 not in answer.objects


def test_a_jump_whose_part_off_the_ground_and_label_are_another_thing_is_not_the_subjects(jump_library, tmp_path):
    """A mask over two objects jumps when either does; the indexer names the part of it off the ground up close
    (index/part_names.py). Asked about the red ball, an object taken for it by a phrase of one chunk while its label
    says "the red box", whose jumping part is named "the red box" too, jumped as the box: that jump is left out. One
    name alone does not decide (the names up close get the kind wrong now and then), and a question about no thing in
    particular keeps it."""
    import shutil

    db, _, _ = jump_library
    every = _ask(db, "find every moment the red ball jumps")
    assert every.moments
    jump = every.moments[0]
    oid = jump.evidence[0].object_id
    for part, label, kept in (("the red box", "the red box", False), ("the red box", None, True),
                              ("the red ball", "the red box", True)):
        copy = tmp_path / f"{part}_{label}.duckdb".replace(" ", "_")
        shutil.copy(db, copy)
        with duckdb.connect(str(copy)) as con:
            con.execute("DELETE FROM part_names")
            con.execute("INSERT INTO part_names SELECT video_id, object_id, ?, 0, 0, 1, 1, ? FROM objects "
                        "WHERE object_id = ?", [(jump.start_s + jump.end_s) / 2, part, oid])
            if label is not None:  # the label says box; a phrase of one chunk still says ball
                con.execute("UPDATE objects SET label = ? WHERE object_id = ?", [label, oid])
                con.execute("INSERT INTO phrases SELECT video_id, 9999, 0, 'the red ball', object_id FROM objects "
                            "WHERE object_id = ?", [oid])
        asked = _ask(copy, "find every moment the red ball jumps")
        assert oid in asked.objects, "still taken for the red ball"
        spans = [(m.video_path, m.start_s) for m in asked.moments]
        assert ((jump.video_path, jump.start_s) in spans) == kept, (part, label)
        anything = _ask(copy, "find every jump")
        assert any((m.video_path, m.start_s) == (jump.video_path, jump.start_s) for m in anything.moments)


def test_an_object_few_chunks_called_the_subject_is_left_out_and_said_so(jump_library, tmp_path):
    """Over the whole index, an object whose label names another thing and that only one of its chunks called "the
    red ball" is left out while other videos hold objects that clearly are the red ball; the answer says so and how
    to ask for it. Asked about its own video alone, where nothing else is the red ball, it answers; and if most of its
    chunks called it the red ball, it answers whatever its label."""
    import shutil

    db, _, videos = jump_library
    every = _ask(db, "find every moment the red ball jumps")
    by_video = {}
    for m in every.moments:
        by_video.setdefault(m.video_path, m.evidence[0].object_id)
    assert len(by_video) >= 2, "the premise: red balls jump in two videos or more"
    video, oid = sorted(by_video.items())[0]
    for box_chunks, ball_chunks, left_out in ((3, 1, True), (2, 2, False)):
        copy = tmp_path / f"box{box_chunks}_ball{ball_chunks}.duckdb"
        shutil.copy(db, copy)
        with duckdb.connect(str(copy)) as con:
            con.execute("UPDATE objects SET label = 'the red box' WHERE object_id = ?", [oid])
            con.execute("DELETE FROM phrases WHERE object_id = ?", [oid])
            for i in range(box_chunks + ball_chunks):
                con.execute("INSERT INTO phrases SELECT video_id, 9000 + ?, 0, ?, object_id FROM objects "
                            "WHERE object_id = ?", [i, "the red box" if i < box_chunks else "the red ball", oid])
        asked = _ask(copy, "find every moment the red ball jumps")
        assert (oid in asked.set_aside, oid in asked.objects) == (left_out, not left_out)
        assert any(m.video_path == video for m in asked.moments) == (not left_out)
        assert ("left out 1 object(s)" in asked.answer and "'the red box' in " + Path(video).name in asked.answer) \
            == left_out, asked.answer
        assert ("left out 1 object(s)" in (asked.note or "")) == left_out, "--json says it too"
        alone = _ask(copy, f"find every moment the red ball jumps in {Path(video).name}")
        assert oid in alone.objects and not alone.set_aside and alone.moments


def test_no_thing_in_particular_with_a_predicate_no_rule_reads_says_what_to_ask(jump_library):
    """'What barks' has no stored kind to read and no thing for the model to check: one line saying so, no model."""
    db, _, videos = jump_library
    answer = _ask(db, f"what barks in {videos[0].name}")
    assert answer.moments == [] and answer.verified_chunks == 0 and answer.route == "none"
    assert "No event or state rule reads 'barks'" in answer.answer and "ask about one" in answer.answer


def test_either_of_two_events(jump_library):
    """"When does X jump or stop" is the moments of both kinds, each its own, counted by kind."""
    db, _, videos = jump_library
    file = videos[0].name
    either = _ask(db, f"when does anything jump or stop in {file}")
    jumps, stops = _ask(db, f"find every jump in {file}"), _ask(db, f"when does anything stop in {file}")
    assert either.route == "events" and either.event_kinds == ["jump", "stops_moving"] and either.event is None
    spans = lambda a: sorted((m.start_s, m.end_s, m.evidence[0].event) for m in a.moments)  # noqa: E731
    assert spans(either) == sorted(spans(jumps) + spans(stops))


def test_a_state_that_does_not_hold_is_the_rest_of_the_time(jump_library):
    """'Not visible' (also 'out of view') and 'visible' share no time and, with pieces shorter than a state left out,
    cover the video; 'not near X' is time the subject is seen and not near X; from the index alone."""
    from agent.query.state_complement import spans_without, union

    db, worlds, videos = jump_library
    hidden_s = 0.0
    for world, video in zip(worlds, videos):
        path = str(video.resolve())
        for obj in world.objects[:2]:
            seen = _ask(db, f"when is the {obj.name} visible in {video.name}")
            if not seen.moments or seen.route != "events":
                continue  # no stored object is the subject (one of two green things whose names swap): not this test's
            gone, out = (_ask(db, f"when is the {obj.name} {p} in {video.name}") for p in ("not visible", "out of view"))
            assert gone.route == "events" and gone.event == "not_visible"
            assert [(m.start_s, m.end_s) for m in gone.moments] == [(m.start_s, m.end_s) for m in out.moments]
            shown = union([(m.start_s, m.end_s) for m in seen.moments if m.video_path == path])
            hidden = union([(m.start_s, m.end_s) for m in gone.moments if m.video_path == path])
            assert spans_without(hidden, shown, 0.0) == hidden, "no time both seen and not seen"
            assert spans_without([(0.0, world.config.duration_s)], shown + hidden, 0.5) == []
            assert all(m.evidence[0].event == "not_visible" and m.evidence[0].rule for m in gone.moments)
            hidden_s += sum(b - a for a, b in hidden)
        a, b = world.objects[0].name, world.objects[1].name if len(world.objects) > 1 else None
        if b is None:
            continue
        near = _ask(db, f"when is the {a} near the {b} in {video.name}")
        apart = _ask(db, f"when is the {a} not near the {b} in {video.name}")
        seen = _ask(db, f"when is the {a} visible in {video.name}")
        assert apart.event == "not_near"
        apart_spans = [(m.start_s, m.end_s) for m in apart.moments]
        assert spans_without(apart_spans, [(m.start_s, m.end_s) for m in near.moments], 0.0) == union(apart_spans)
        assert spans_without(apart_spans, [(m.start_s, m.end_s) for m in seen.moments], 0.0) == []
    assert hidden_s > 0, "the second and third worlds' second object goes out of the frame for about 2 s"


def test_what_is_near_a_thing_names_the_other_side(jump_library):
    """"What is near the X" is every object's 'near' state with X, each moment shown as the object that is not X."""
    db, a, b, file = _first_pair(jump_library)
    near = _ask(db, f"what is near the {b} in {file}")
    pair = _ask(db, f"when is the {a} near the {b} in {file}")
    b_ids = set(_ask(db, f"the {b} in {file}").objects)
    assert near.event == "near" and near.moments and pair.moments
    assert all(m.evidence[0].object_id not in b_ids for m in near.moments)
    assert all(m.evidence[0].rule.startswith("with ") for m in near.moments)


def test_entrances_and_exits_by_edge_split_them_all(jump_library):
    """"Leave the frame on the left / right / at the top / bottom" split "leave the frame": each exit is at one edge,
    the edge its object's box was last seen nearest; the same for entrances."""
    db, _, videos = jump_library
    for verb, kind in (("leave the frame", "leaves"), ("enter the frame", "enters")):
        everything, by_edge = [], []
        for video in videos:
            every = _ask(db, f"which objects {verb} in {video.name}")
            everything += [(m.video_path, m.start_s, m.end_s) for m in every.moments]
            for edge in ("left", "right", "top", "bottom"):
                side = _ask(db, f"when does something {verb} at the {edge} in {video.name}")
                assert side.event == kind
                by_edge += [(m.video_path, m.start_s, m.end_s) for m in side.moments]
        assert everything and sorted(by_edge) == sorted(everything), kind


def test_an_event_asked_outside_its_time_says_the_window(jump_library):
    db, _, videos = jump_library
    answer = _ask(db, f"find every jump after 1:00 in {videos[0].name}")
    assert answer.moments == [] and answer.answer.endswith("none has a 'jump' event after 1:00.0.")


def test_older_index_gets_its_events_by_replaying_stored_tracks(jump_library, tmp_path):
    """A v4 file (no events table) opened by this sva: the migration replays the tracks, no model, same rows as the
    rules give this index's tracks (a v4 file has no names of the parts jumps hang on, index/part_names.py, nor of parts
that crossed the border, index/crossing_names.py, and its
    labels are its chunks' names, not its views', index/object_views.py)."""
    import shutil

    from index.event_store import replace_video_events
    from index.label_vote import vote_labels

    db, _, _ = jump_library
    old = tmp_path / "old.duckdb"
    shutil.copy(db, old)
    con = duckdb.connect(str(old))
    try:
        con.execute("DELETE FROM part_names")
        con.execute("DELETE FROM crossing_names")  # v23
        con.execute("DROP TABLE object_views")  # v18
        con.execute("ALTER TABLE videos DROP COLUMN views_named")
        vote_labels(con, None)
        con.execute("ALTER TABLE track_points DROP COLUMN colour")  # v16
        for (video_id,) in con.execute("SELECT video_id FROM videos").fetchall():
            replace_video_events(con, video_id)
        before = con.execute("SELECT * FROM events ORDER BY video_id, start_s, object_id, kind, other_object_id").fetchall()
        con.execute("DROP TABLE events")
        for column in ("model", "model_revision", "weights_sha256", "stages"):  # added by v5, v6 and v8
            con.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
        for table in ("access_accounts", "access_roots", "subject_checks"):  # v7, v10
            con.execute(f"DROP TABLE {table}")
        con.execute("ALTER TABLE videos DROP COLUMN gaps_filled")  # v13
        con.execute("DROP TABLE part_names")  # v14
        con.execute("ALTER TABLE videos DROP COLUMN parts_named")
        con.execute("DROP TABLE crossing_names")  # v23
        con.execute("UPDATE schema_version SET version = 4")
    finally:
        con.close()
    reader = IndexReader(old, linger_s=0)
    assert reader.schema_version() == CURRENT_VERSION
    con = duckdb.connect(str(old), read_only=True)
    try:
        after = con.execute("SELECT * FROM events ORDER BY video_id, start_s, object_id, kind, other_object_id").fetchall()
    finally:
        con.close()
    assert before and after == before


def test_a_v14_index_gets_its_events_replayed_with_the_rules_of_v15(jump_library, tmp_path):
    """v15 changed what the rules read (boxes of masks' sizeable parts, the border speed's window): an index stored
    before it has its events replaced from its tracks when first opened, by no model, the same as a fresh finish."""
    import shutil

    from index.event_store import replace_video_events

    db, _, _ = jump_library
    old = tmp_path / "v14.duckdb"
    shutil.copy(db, old)
    con = duckdb.connect(str(old))
    try:
        con.execute("ALTER TABLE track_points DROP COLUMN colour")  # v16
        con.execute("DELETE FROM crossing_names")  # v23
        for (video_id,) in con.execute("SELECT video_id FROM videos").fetchall():
            replace_video_events(con, video_id)  # a fresh finish of a v15 index: no colours, no crossings named
        fresh = con.execute("SELECT * FROM events ORDER BY video_id, start_s, object_id, kind, other_object_id").fetchall()
        con.execute("UPDATE events SET start_s = start_s + 100, end_s = end_s + 100")  # what older rules left
        con.execute("DROP TABLE object_views")  # v18
        con.execute("ALTER TABLE videos DROP COLUMN views_named")
        con.execute("ALTER TABLE events DROP COLUMN size")  # v22
        con.execute("DROP TABLE crossing_names")  # v23
        con.execute("UPDATE schema_version SET version = 14")
    finally:
        con.close()
    assert IndexReader(old, linger_s=0).schema_version() == CURRENT_VERSION
    con = duckdb.connect(str(old), read_only=True)
    try:
        assert fresh and con.execute("SELECT * FROM events ORDER BY video_id, start_s, object_id, kind, other_object_id").fetchall() == fresh
    finally:
        con.close()


def test_points_store_their_mask_colour_and_a_v15_index_keeps_its_events(jump_library, tmp_path):
    """Indexing stores each present point's mean colour under its mask (in Lab, tools/mask_colour.py), which the event
    rules read. v16 adds the column to an older index: its points have no colour, and its events stay as they were."""
    import shutil

    db, _, _ = jump_library
    with duckdb.connect(str(db), read_only=True) as con:
        colours = [c for (c,) in con.execute("SELECT colour FROM track_points").fetchall()]
    assert colours and all(c is not None and len(c) == 3 and 0.0 <= c[0] <= 100.0 for c in colours)
    old = tmp_path / "v15.duckdb"
    shutil.copy(db, old)
    with duckdb.connect(str(old)) as con:
        con.execute("ALTER TABLE track_points DROP COLUMN colour")
        con.execute(f"DELETE FROM events WHERE kind IN {STATE_KINDS}")  # v19
        con.execute("UPDATE events SET score = 0.123")  # what v15 left: not replayed
        before = con.execute(_CHANGES).fetchall()
        con.execute("DROP TABLE object_views")  # v18
        con.execute("ALTER TABLE videos DROP COLUMN views_named")
        con.execute("ALTER TABLE events DROP COLUMN size")  # v22
        con.execute("DROP TABLE crossing_names")  # v23
        con.execute("UPDATE schema_version SET version = 15")
    assert IndexReader(old, linger_s=0).schema_version() == CURRENT_VERSION
    with duckdb.connect(str(old), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM track_points WHERE colour IS NOT NULL").fetchone()[0] == 0
        assert before and con.execute(_CHANGES).fetchall() == before
        assert con.execute(f"SELECT count(*) FROM events WHERE kind IN {STATE_KINDS}").fetchone()[0] > 0  # v19


_CHANGES = (f"SELECT * FROM events WHERE kind NOT IN {STATE_KINDS} "
            "ORDER BY video_id, start_s, object_id, kind, other_object_id")


def test_a_v18_index_gets_the_states_and_keeps_its_other_events(jump_library, tmp_path):
    """v19 adds the states (moving, still, near, the sides) to an index stored before them, read from its tracks by
    no model: the same rows a fresh finish stores; the other events stay as they were, whatever they were."""
    import shutil

    db, _, _ = jump_library
    with duckdb.connect(str(db), read_only=True) as con:
        fresh_states = con.execute(f"SELECT * FROM events WHERE kind IN {STATE_KINDS} "
                                   "ORDER BY video_id, start_s, object_id, kind, other_object_id").fetchall()
    assert {row[3] for row in fresh_states} >= {"moving", "still", "visible"}
    old = tmp_path / "v18.duckdb"
    shutil.copy(db, old)
    with duckdb.connect(str(old)) as con:
        con.execute(f"DELETE FROM events WHERE kind IN {STATE_KINDS}")
        con.execute("UPDATE events SET score = 0.321")  # what v18 left
        before = con.execute(_CHANGES).fetchall()
        con.execute("ALTER TABLE events DROP COLUMN size")  # v22
        con.execute("DROP TABLE crossing_names")  # v23
        con.execute("UPDATE schema_version SET version = 18")
    assert IndexReader(old, linger_s=0).schema_version() == CURRENT_VERSION
    with duckdb.connect(str(old), read_only=True) as con:
        assert before and con.execute(_CHANGES).fetchall() == before
        assert con.execute(f"SELECT * FROM events WHERE kind IN {STATE_KINDS} "
                           "ORDER BY video_id, start_s, object_id, kind, other_object_id").fetchall() == fresh_states


def test_a_v19_index_gets_where_its_objects_are_visible(jump_library, tmp_path):
    """v20 adds the 'visible' state to an index stored before it (the same rows a fresh finish stores); a thing named
    alone ("the red ball in <file>") is then answered from it, with no model."""
    import shutil

    db, _, videos = jump_library
    query = "SELECT * FROM events WHERE kind = 'visible' ORDER BY video_id, start_s, object_id"
    with duckdb.connect(str(db), read_only=True) as con:
        fresh = con.execute(query).fetchall()
    assert fresh
    old = tmp_path / "v19.duckdb"
    shutil.copy(db, old)
    with duckdb.connect(str(old)) as con:
        con.execute("DELETE FROM events WHERE kind = 'visible'")
        con.execute("ALTER TABLE events DROP COLUMN size")  # v22
        con.execute("DROP TABLE crossing_names")  # v23
        con.execute("UPDATE schema_version SET version = 19")
    assert IndexReader(old, linger_s=0).schema_version() == CURRENT_VERSION
    with duckdb.connect(str(old), read_only=True) as con:
        assert con.execute(query).fetchall() == fresh
    answer = _ask(old, f"the red ball in {videos[0].name}")
    assert answer.route == "events" and answer.event == "visible" and answer.moments
    assert all(m.evidence[0].event == "visible" and m.evidence[0].rule for m in answer.moments)
    # "How many ... are there": the answer says how many things were seen, not only their spans.
    things = {e.object_id for m in answer.moments for e in m.evidence}
    assert f"({len(things)} object{'s' if len(things) > 1 else ''}; " in answer.answer


def test_a_v21_index_gets_the_sizes_of_its_events_and_keeps_them(jump_library, tmp_path):
    """v22 adds how big each event was (a jump's height, a motion's top speed) to an index stored before it: the same
    sizes a fresh finish stores, on the events as they were; an event the rules no longer give keeps no size."""
    import shutil

    db, _, _ = jump_library
    query = "SELECT video_id, object_id, kind, start_s, end_s, size FROM events ORDER BY ALL"
    with duckdb.connect(str(db), read_only=True) as con:
        fresh = con.execute(query).fetchall()
    assert any(row[2] == "jump" and row[5] > 0 for row in fresh) and any(row[2] == "moving" and row[5] for row in fresh)
    assert all(row[5] is None for row in fresh if row[2] in ("still", "visible", "enters", "leaves", "meets"))
    old = tmp_path / "v21.duckdb"
    shutil.copy(db, old)
    with duckdb.connect(str(old)) as con:
        con.execute("ALTER TABLE events DROP COLUMN size")
        # One event the rules do not give: it stays, with no size.
        con.execute("INSERT INTO events SELECT video_id, object_id, other_object_id, kind, start_s + 0.01, end_s, "
                    "score, evidence_s, rule FROM events WHERE kind = 'jump' LIMIT 1")
        con.execute("DROP TABLE crossing_names")  # v23
        con.execute("UPDATE schema_version SET version = 21")
    assert IndexReader(old, linger_s=0).schema_version() == CURRENT_VERSION
    with duckdb.connect(str(old), read_only=True) as con:
        migrated = con.execute(query).fetchall()
    extra = [row for row in migrated if row not in fresh]
    assert len(extra) == 1 and extra[0][2] == "jump" and extra[0][5] is None
    assert [row for row in migrated if row in fresh] == fresh


def test_more_footage_for_an_index_keeps_its_model_and_preset(jump_library, tmp_path, monkeypatch):
    """`sva index` without --model on an index built with the demo model indexes with it (and its preset)."""
    from agent.run_settings import index_settings, query_settings

    monkeypatch.delenv("SVA_MODEL", raising=False)
    db, _, _ = jump_library
    more = index_settings(db)
    assert more.model.endswith("demo_model") and (more.sample_fps, more.chunk_s) == (4.0, 3.0)
    assert more.prompt_every_frame and not more.describe
    asked = query_settings(db)
    assert asked.model == more.model and asked.verify_by == "grounding" and not asked.model_parser
    # A flag still wins over the preset, and a fresh index starts from the project's defaults.
    assert index_settings(db, chunk_s=5.0).chunk_s == 5.0
    fresh = index_settings(tmp_path / "new.duckdb")
    assert fresh.model == "ByteDance/Sa2VA-Qwen3-VL-4B" and fresh.chunk_s == 10.0


def test_an_index_built_by_another_install_of_the_demo_model_is_asked_with_this_one(jump_library, tmp_path,
                                                                                   monkeypatch):
    """The index records the demo model's directory; after sva is reinstalled elsewhere that directory is gone,
    and queries use this install's demo model (and its preset) instead of failing to load it."""
    import shutil

    from agent.run_settings import query_settings

    monkeypatch.delenv("SVA_MODEL", raising=False)
    db, _, _ = jump_library
    moved = tmp_path / "index.duckdb"
    shutil.copy(db, moved)
    con = duckdb.connect(str(moved))
    con.execute("UPDATE jobs SET model = '/gone/venv/lib/python3.11/site-packages/sa2va_engine/demo_model'")
    con.close()
    here = query_settings(db).model
    assert query_settings(moved).model == here and query_settings(moved).verify_by == "grounding"
    # Any other missing directory is left as recorded: loading it says what is missing.
    con = duckdb.connect(str(moved))
    con.execute("UPDATE jobs SET model = '/gone/my_checkpoint'")
    con.close()
    assert query_settings(moved).model == "/gone/my_checkpoint"
