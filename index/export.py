"""Tracks out of the index in formats other tools read. Only present track points are exported (the index
stores no others). Each video is read on its own short connection, so an indexer in another process can
commit between videos; a video's rows always come from one committed state.

- JSONL: one record per track point, ordered by video, object, time (a per-object record would have to hold a
  whole track in memory; per point streams):
  {"video_path", "video_id", "object_id", "label", "description", "chunk_index", "time_s", "score",
   "box_xyxy": [x0, y0, x1, y1] (pixels), "area" (pixels), "mask": {"size": [h, w], "counts": COCO RLE}}
- MOTChallenge: `frame,id,x,y,w,h,conf,-1,-1,-1` per line, frame = round(time_s * fps) + 1 (1-based, native
  frame numbers at the video's probed fps unless `fps` is given), id = 1..N per video in object_id order,
  x,y,w,h in pixels. One video: `out` is the file. Several: `out` is a directory of `<video_id>_<stem>.txt`.
- COCO: one image per (video, sampled time) with annotations; annotation segmentation is the stored COCO RLE,
  bbox is [x, y, w, h], category per object label; extra keys video_path, time_s, track_id (= object_id).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from index.connection import READ_TIMEOUT_S, open_read
from index.errors import IndexError_, VideoNotIndexed
from index.video_path import canonical_video_path

ExportFormat = Literal["jsonl", "mot", "coco"]
FORMATS: tuple[str, ...] = ("jsonl", "mot", "coco")

_BATCH = 10_000

_POINTS = """
SELECT t.object_id, o.label, o.description, t.chunk_index, t.time_s, t.score, t.x0, t.y0, t.x1, t.y1, t.area,
       t.mask_h, t.mask_w, t.mask_counts
FROM track_points t JOIN objects o USING (object_id)
WHERE t.video_id = ?
ORDER BY t.object_id, t.time_s
"""

_MOT_ROWS = """
SELECT round(t.time_s * ?)::BIGINT + 1 AS frame, dense_rank() OVER (ORDER BY t.object_id) AS track,
       t.x0, t.y0, t.x1 - t.x0, t.y1 - t.y0, t.score
FROM track_points t
WHERE t.video_id = ? AND t.x0 IS NOT NULL
ORDER BY frame, track
"""

_COCO_ANNOTATIONS = """
SELECT t.time_s, t.object_id, o.label, t.score, t.x0, t.y0, t.x1, t.y1, t.area, t.mask_h, t.mask_w, t.mask_counts
FROM track_points t JOIN objects o USING (object_id)
WHERE t.video_id = ?
ORDER BY t.time_s, t.object_id
"""


class ExportError(IndexError_):
    pass


class ExportReport(BaseModel):
    format: str
    files: list[str]
    videos: int
    records: int  # JSONL lines, MOT lines, or COCO annotations


def export_index(
    db: Path,
    fmt: str,
    out: Path,
    video: str | Path | None = None,
    fps: float | None = None,
    timeout_s: float = READ_TIMEOUT_S,
) -> ExportReport:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fps is not None and fps <= 0:
        raise ExportError(f"--fps must be positive, got {fps}")
    videos = _videos(Path(db), video, timeout_s)
    out = Path(out)
    try:
        if fmt == "jsonl":
            files, n = [out], _export_jsonl(db, videos, out, timeout_s)
        elif fmt == "mot":
            files, n = _export_mot(db, videos, out, fps, timeout_s)
        else:
            files, n = [out], _export_coco(db, videos, out, timeout_s)
    except OSError as exc:
        raise ExportError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None
    return ExportReport(format=fmt, files=[str(f) for f in files], videos=len(videos), records=n)


class _Video(BaseModel):
    video_id: int
    path: str
    fps: float | None


def _videos(db: Path, video: str | Path | None, timeout_s: float) -> list[_Video]:
    with open_read(db, timeout_s) as con:
        rows = con.execute("SELECT video_id, path, fps FROM videos ORDER BY video_id").fetchall()
    videos = [_Video(video_id=r[0], path=r[1], fps=r[2]) for r in rows]
    if video is not None:
        vpath = canonical_video_path(video)
        videos = [v for v in videos if v.path == vpath]
        if not videos:
            raise VideoNotIndexed(f"video {vpath} is not in index {db}")
    return videos


def _batches(con, sql: str, params: list) -> Iterator[tuple]:
    cur = con.execute(sql, params)
    while rows := cur.fetchmany(_BATCH):
        yield from rows


def _mask(h, w, counts) -> dict | None:
    return {"size": [h, w], "counts": counts} if counts is not None else None


def _export_jsonl(db: Path, videos: list[_Video], out: Path, timeout_s: float) -> int:
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for v in videos:
            with open_read(db, timeout_s) as con:
                for oid, label, desc, k, t, score, x0, y0, x1, y1, area, h, w, counts in _batches(con, _POINTS, [v.video_id]):
                    record = {
                        "video_path": v.path, "video_id": v.video_id, "object_id": oid, "label": label,
                        "description": desc, "chunk_index": k, "time_s": t, "score": score,
                        "box_xyxy": [x0, y0, x1, y1] if x0 is not None else None, "area": area,
                        "mask": _mask(h, w, counts),
                    }
                    f.write(json.dumps(record) + "\n")
                    n += 1
    return n


def _export_mot(db: Path, videos: list[_Video], out: Path, fps: float | None, timeout_s: float) -> tuple[list[Path], int]:
    for v in videos:
        if fps is None and not v.fps:
            raise ExportError(f"video {v.path} has no probed fps; pass --fps for MOT frame numbers")
    if len(videos) == 1:
        targets = [out]
    else:
        out.mkdir(parents=True, exist_ok=True)
        targets = [out / f"{v.video_id}_{Path(v.path).stem}.txt" for v in videos]
    n = 0
    for v, target in zip(videos, targets):
        with open_read(db, timeout_s) as con, open(target, "w", encoding="ascii") as f:
            for frame, track, x, y, w, h, conf in _batches(con, _MOT_ROWS, [fps or v.fps, v.video_id]):
                f.write(f"{frame},{track},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{conf:.4f},-1,-1,-1\n")
                n += 1
    return targets, n


def _export_coco(db: Path, videos: list[_Video], out: Path, timeout_s: float) -> int:
    with open_read(db, timeout_s) as con:
        labels = [r[0] for r in con.execute(
            "SELECT DISTINCT label FROM objects WHERE video_id IN (SELECT unnest(?::BIGINT[])) ORDER BY label",
            [[v.video_id for v in videos]],
        ).fetchall()]
    category = {label: i + 1 for i, label in enumerate(labels)}
    n_images = n_annotations = 0
    # COCO wants every image before any annotation. One pass per video over its points (one connection, so
    # one committed state) writes images to `out` and annotations to a spool appended at the end.
    with open(out, "w", encoding="utf-8") as f, tempfile.TemporaryFile("w+", encoding="utf-8", dir=out.parent) as spool:
        f.write('{"info": {"description": "sva index export", "time_unit": "seconds"},\n"images": [\n')
        for v in videos:
            with open_read(db, timeout_s) as con:
                width, height = con.execute("SELECT width, height FROM videos WHERE video_id = ?", [v.video_id]).fetchone()
                last_t = None
                for t, oid, label, score, x0, y0, x1, y1, area, h, w, counts in _batches(con, _COCO_ANNOTATIONS, [v.video_id]):
                    if t != last_t:
                        n_images, last_t = n_images + 1, t
                        image = {"id": n_images, "file_name": f"{v.path}#t={t:.3f}", "video_path": v.path,
                                 "video_id": v.video_id, "time_s": t, "width": width or w, "height": height or h}
                        f.write(("" if n_images == 1 else ",\n") + json.dumps(image))
                    n_annotations += 1
                    ann = {
                        "id": n_annotations, "image_id": n_images, "category_id": category[label],
                        "segmentation": _mask(h, w, counts), "area": area,
                        "bbox": [x0, y0, x1 - x0, y1 - y0] if x0 is not None else None,
                        "iscrowd": 0, "score": score, "track_id": oid, "video_path": v.path, "time_s": t,
                    }
                    spool.write(("" if n_annotations == 1 else ",\n") + json.dumps(ann))
        f.write('\n],\n"annotations": [\n')
        spool.seek(0)
        shutil.copyfileobj(spool, f)
        f.write('\n],\n"categories": ')
        f.write(json.dumps([{"id": i, "name": label, "supercategory": "object"} for label, i in category.items()]))
        f.write("\n}\n")
    return n_annotations
