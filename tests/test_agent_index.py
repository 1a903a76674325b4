"""The indexing graph end to end on real videos with the tiny checkpoint: what lands in the DB, reruns,
bad inputs in a batch, a failing chunk."""

from __future__ import annotations

import json
import shutil

import pytest

from agent.indexing.index_settings import IndexSettings
from agent.indexing.indexer import expand_inputs, run_index
from index.reader import IndexReader
from sa2va_engine.sa2va import Sa2VA
from tests.agent_fixtures import index_args, run_sva
from tests.index_fixtures import dump_tables


def test_cli_index_stores_chunks_captions_tracks_and_links(indexed_library):
    db, videos, result = indexed_library
    report = json.loads(result.stdout)
    assert [v["outcome"] for v in report["videos"]] == ["indexed"] * 3
    reader = IndexReader(db)
    library = {v.path: v for v in reader.library()}
    assert set(library) == {str(v.resolve()) for v in videos}
    for video in videos:
        summary = library[str(video.resolve())]
        assert summary.status == "done" and summary.chunks_done == summary.chunks_total == 3
        chunks = reader.chunks(video)
        assert all(c.caption for c in chunks), "every chunk is captioned"
        # Chunks overlap by one second, so "the dog" tracked in every chunk is linked into one object when
        # the masks agree on the overlap; either way every object has track points inside its video.
        objects = reader.objects(video)
        assert 1 <= len(objects) <= 3
        for obj in objects:
            points = reader.tracks(obj.object_id)
            assert points, "a stored object has a track"
            assert all(0 <= p.time_s <= summary.duration_s and p.present and p.mask for p in points)
            times = [p.time_s for p in points]
            assert times == sorted(times) and len(set(times)) == len(times), "overlap frames are stored once"
    # Objects are linked through the overlap: fewer objects than (chunks x expressions) in total.
    total_objects = sum(len(reader.objects(v)) for v in videos)
    assert total_objects < 3 * 3


def test_rerun_is_a_no_op_and_loads_no_model(indexed_library, tmp_path):
    db, videos, _ = indexed_library
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    before = dump_tables(copy)
    # A model that does not exist: a rerun over an indexed library must not even try to load one.
    result = run_sva("index", *map(str, videos), "--db", str(copy), "--model", str(tmp_path / "no-model"),
                     "--chunk-s", "4", "--overlap-s", "1", "--max-side", "256", "--watch", "the dog", "--json")
    assert result.returncode == 0, result.stderr
    assert [v["outcome"] for v in json.loads(result.stdout)["videos"]] == ["unchanged"] * 3
    assert dump_tables(copy) == before


def test_batch_with_bad_files_indexes_the_good_ones_and_names_the_bad(tmp_path, shared_videos, tracking_checkpoint):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    good = shared_videos / "08_driving.mp4"
    db = tmp_path / "index.duckdb"
    args = index_args(db, tracking_checkpoint, [bad, good, tmp_path / "missing.mp4"])
    result = run_sva(*args)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("sva: ")]
    assert any(str(bad) in line for line in errors) and any("missing.mp4" in line for line in errors)
    assert "Traceback" not in result.stderr
    library = {v.path: v for v in IndexReader(db).library()}
    assert library[str(good.resolve())].status == "done"
    assert library[str(bad.resolve())].status == "failed" and library[str(bad.resolve())].error
    assert IndexReader(db).jobs()[0].status == "partial"


def test_unusable_model_is_a_one_line_usage_error(tmp_path, shared_videos):
    result = run_sva("index", str(shared_videos / "01_dog.mp4"), "--db", str(tmp_path / "i.duckdb"),
                     "--model", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("sva: ") and "Traceback" not in result.stderr
    # The model is loaded before anything is written: no index file, so no job and no video left "indexing".
    assert not (tmp_path / "i.duckdb").exists()


def test_unusable_model_leaves_an_existing_index_as_it_was(indexed_library, tmp_path, shared_videos):
    db, _, _ = indexed_library
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    before = dump_tables(copy, skip=())
    result = run_sva("index", str(shared_videos / "08_driving.mp4"), "--db", str(copy), "--model",
                     str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert dump_tables(copy, skip=()) == before, "no job, no video row: nothing was written"


def test_a_failing_chunk_is_recorded_and_retried_next_run(tmp_path, shared_videos, tracking_checkpoint, monkeypatch):
    engine = Sa2VA.from_pretrained(tracking_checkpoint)
    real = engine.ground_caption
    calls = {"n": 0}

    def flaky(visual, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("CUDA out of memory (simulated)\nsecond line")
        return real(visual, **kw)

    monkeypatch.setattr(engine, "ground_caption", flaky)
    settings = IndexSettings(db=tmp_path / "i.duckdb", chunk_s=4, overlap_s=1, max_side=256, watch=["the dog"])
    video = shared_videos / "01_dog.mp4"
    report = run_index([str(video)], settings, engine=engine)
    assert report.exit_code == 1
    (video_report,) = report.videos
    assert (video_report.outcome, video_report.chunks_done, video_report.chunks_failed) == ("partial", 2, 1)
    reader = IndexReader(settings.db)
    chunks = reader.chunks(video)
    assert [c.status for c in chunks] == ["done", "failed", "done"]
    assert chunks[1].error.startswith("chunk 1 (4.0-9.0 s) ground: RuntimeError: CUDA out of memory")
    assert "\n" not in chunks[1].error
    assert reader.video(video).status == "partial"

    again = run_index([str(video)], settings, engine=engine)
    assert again.exit_code == 0 and again.videos[0].chunks_done == 1
    assert [c.status for c in IndexReader(settings.db).chunks(video)] == ["done"] * 3


def test_steps_can_be_switched_off(tmp_path, shared_videos, tracking_checkpoint):
    settings = IndexSettings(db=tmp_path / "i.duckdb", model=str(tracking_checkpoint), chunk_s=4, overlap_s=1,
                             max_side=256, caption=False, ground=False, describe=False, watch=["a person"])
    video = shared_videos / "06_pingpong.mp4"
    assert run_index([str(video)], settings).exit_code == 0
    reader = IndexReader(settings.db)
    assert all(c.caption in (None, "") for c in reader.chunks(video))
    objects = reader.objects(video)
    assert {o.label for o in objects} == {"a person"} and all(o.description is None for o in objects)


def test_inputs_expand_folders_and_globs(tmp_path):
    (tmp_path / "cams" / "a").mkdir(parents=True)
    for name in ("cams/a/one.mp4", "cams/two.MKV", "cams/notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    found, missing = expand_inputs([str(tmp_path / "cams"), str(tmp_path / "cams" / "*.MKV"), str(tmp_path / "x*.mp4"),
                                    str(tmp_path / "gone.mp4")])
    assert [p.name for p in found] == ["one.mp4", "two.MKV"]
    assert [m.error.split(": ")[-1] for m in missing] == ["no file matches this pattern", "no such file or folder"]


@pytest.mark.parametrize("args, message", [
    (["--chunk-s", "2", "--overlap-s", "2"], "--overlap-s (2) must be shorter than --chunk-s (2)"),
    (["--sample-fps", "0"], "Invalid value for '--sample-fps'"),
])
def test_bad_settings_are_usage_errors(tmp_path, shared_videos, args, message):
    result = run_sva("index", str(shared_videos / "01_dog.mp4"), "--db", str(tmp_path / "i.duckdb"), *args)
    assert result.returncode == 2 and message in result.stderr


def test_a_folder_without_videos_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_sva("index", str(tmp_path / "empty"), "--db", str(tmp_path / "i.duckdb"))
    assert result.returncode == 2 and f"sva: no video files in {tmp_path / 'empty'}" in result.stderr
