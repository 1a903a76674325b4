"""`sva export`: JSONL, MOTChallenge and COCO files that other tools read back, and one-line user errors."""

import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from typer.testing import CliRunner

from agent.cli.main import app
from index.export import export_index
from index.writer import IndexWriter
from tests import index_fixtures as fx

runner = CliRunner()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    db = d / "index.duckdb"
    videos = [fx.make_video_file(d / "cam1.mp4"), fx.make_video_file(d / "cam2.mp4", seed=9)]
    w = IndexWriter(db, embedder=fx.HashEmbedder())
    expected = {}
    for n, video in zip((3, 2), videos):
        plan = w.begin_video(video, fx.facts(n), fx.chunk_spans(n))
        for k in plan.pending_chunks:
            a = fx.analysis(str(video), k)
            ids = w.commit_chunk(plan.video_id, a, links=fx.links(k, w.chunk_object_ids(plan.video_id, k - 1)))
            for oid, gp in zip(ids, a.phrases):
                for p in gp.masklet.points:
                    if p.present:
                        expected[(str(video.resolve()), oid, p.time_s)] = p
    return db, videos, expected


def test_jsonl_has_one_record_per_present_track_point(indexed, tmp_path):
    db, _, expected = indexed
    out = tmp_path / "tracks.jsonl"
    report = export_index(db, "jsonl", out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert report.records == len(records) == len(expected)
    for rec in records:
        want = expected[(rec["video_path"], rec["object_id"], rec["time_s"])]
        assert rec["box_xyxy"] == list(want.box) and rec["area"] == want.area
        assert rec["mask"] == {"size": list(want.mask.size), "counts": want.mask.counts}
    keys = [(r["video_id"], r["object_id"], r["time_s"]) for r in records]
    assert keys == sorted(keys)


def test_mot_lines_use_one_based_native_frames_and_dense_ids(indexed, tmp_path):
    db, videos, expected = indexed
    out = tmp_path / "cam1.txt"
    export_index(db, "mot", out, video=videos[0])
    rows = [line.split(",") for line in out.read_text().splitlines()]
    mine = {k: v for k, v in expected.items() if k[0] == str(videos[0].resolve())}
    assert len(rows) == len(mine)
    assert all(len(r) == 10 and r[7:] == ["-1", "-1", "-1"] for r in rows)
    frames = [int(r[0]) for r in rows]
    assert min(frames) == 1 and frames == sorted(frames)  # t = 0.0 s is frame 1 at 25 fps
    assert max(frames) == round(max(k[2] for k in mine) * 25) + 1
    ids = sorted({int(r[1]) for r in rows})
    assert ids == list(range(1, len({k[1] for k in mine}) + 1))
    x, y, w, h = map(float, rows[0][2:6])
    assert w > 0 and h > 0
    export_index(db, "mot", tmp_path / "at10", video=videos[0], fps=10.0)
    assert int((tmp_path / "at10").read_text().splitlines()[-1].split(",")[0]) == round(max(k[2] for k in mine) * 10) + 1


def test_mot_for_several_videos_writes_a_directory(indexed, tmp_path):
    db, _, _ = indexed
    report = export_index(db, "mot", tmp_path / "mot")
    assert [p.rsplit("/", 1)[1] for p in report.files] == ["1_cam1.txt", "2_cam2.txt"]


def test_coco_json_loads_in_pycocotools_and_masks_match(indexed, tmp_path):
    db, _, expected = indexed
    out = tmp_path / "coco.json"
    report = export_index(db, "coco", out)
    coco = COCO(str(out))
    assert report.records == len(coco.getAnnIds()) == len(expected)
    assert len(coco.getImgIds()) == len({(k[0], k[2]) for k in expected})
    names = {c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert "a red car" in names
    for ann in coco.loadAnns(coco.getAnnIds())[:50]:
        img = coco.loadImgs(ann["image_id"])[0]
        want = expected[(ann["video_path"], ann["track_id"], ann["time_s"])]
        assert img["time_s"] == ann["time_s"] and img["video_path"] == ann["video_path"]
        x0, y0, x1, y1 = want.box
        assert ann["bbox"] == [x0, y0, x1 - x0, y1 - y0]
        assert np.array_equal(coco.annToMask(ann).astype(bool), want.mask.decode())
        assert int(coco_mask.area(coco.annToRLE(ann))) == ann["area"]


def test_cli_exports_each_format(indexed, tmp_path):
    db, videos, _ = indexed
    for fmt in ("jsonl", "mot", "coco"):
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(app, ["export", "--db", str(db), "--format", fmt, "--out", str(out),
                                     "--video", str(videos[1])])
        assert result.exit_code == 0, result.output
        assert out.exists() and out.stat().st_size > 0


def test_cli_reads_db_from_environment(indexed, tmp_path, monkeypatch):
    db, _, expected = indexed
    monkeypatch.setenv("SVA_DB", str(db))
    out = tmp_path / "env.jsonl"
    result = runner.invoke(app, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == len(expected)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--db", "{tmp}/missing.duckdb"], "no index at"),
        (["--format", "xml"], "unknown export format"),
        (["--video", "{tmp}/never-indexed.mp4"], "is not in index"),
        (["--format", "mot", "--fps", "-3"], "--fps must be positive"),
        (["--out", "{tmp}/no/such/dir/out.jsonl"], "cannot write"),
    ],
)
def test_cli_user_errors_are_one_line_exit_2(indexed, tmp_path, args, message):
    db, _, _ = indexed
    argv = ["export", "--db", str(db), "--out", str(tmp_path / "x.out")] + [a.format(tmp=tmp_path) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert result.stderr.startswith("sva: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_mot_needs_an_fps_when_the_video_has_none(tmp_path):
    db = tmp_path / "index.duckdb"
    video = fx.make_video_file(tmp_path / "nofps.mp4")
    w = IndexWriter(db, embedder=fx.HashEmbedder())
    plan = w.begin_video(video, fx.facts(1).model_copy(update={"fps": None}), fx.chunk_spans(1))
    w.commit_chunk(plan.video_id, fx.analysis(str(video), 0))
    result = runner.invoke(app, ["export", "--db", str(db), "--format", "mot", "--out", str(tmp_path / "m.txt")])
    assert result.exit_code == 2 and "pass --fps" in result.stderr
    ok = runner.invoke(app, ["export", "--db", str(db), "--format", "mot", "--fps", "2", "--out", str(tmp_path / "m.txt")])
    assert ok.exit_code == 0, ok.output
