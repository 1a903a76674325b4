"""`sva doctor`'s checks: what a first run needs, one finding per piece, each with how to fix it.

Nothing here writes: the index is opened read-only (never migrated), a hub checkpoint is looked up in the cache
only (never downloaded), and a checkpoint's weights are checked from their headers against a model built
without memory (`Sa2VA.check_pretrained`), so the doctor runs in seconds even for a 4B model.

Status: `ok`; `warn` for something that is fine for now but will need attention (a checkpoint not downloaded
yet, Chromium missing, which only the dashboard's browser test needs); `problem` for something that will fail.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

Status = Literal["ok", "warn", "problem"]
GIB = 1024**3
MIN_FREE_DISK = 2 * GIB  # room for an index to grow and for overlay files
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


class Finding(BaseModel):
    check: str
    status: Status
    detail: str
    fix: str | None = None

    def line(self) -> str:
        fix = f"; to fix: {self.fix}" if self.fix and self.status != "ok" else ""
        return f"{self.status:<8}{self.check:<9}{self.detail}{fix}"


class DoctorReport(BaseModel):
    findings: list[Finding]

    @property
    def exit_code(self) -> int:
        return 1 if any(f.status == "problem" for f in self.findings) else 0


def run_checks(db: Path, model: str | None, revision: str | None, dtype: str | None, device: str | None) -> DoctorReport:
    findings = [Finding(check="python", status="ok", detail=f"{platform.python_version()} ({sys.executable})"),
                _ffmpeg()]
    torch_finding, device_name = _torch(device)
    findings.append(torch_finding)
    findings += _model(db, model, revision, dtype, device_name)
    findings += [_index(db), _chromium()]
    return DoctorReport(findings=findings)


def _ffmpeg() -> Finding:
    """Video is read and written in process by PyAV (FFmpeg's libraries in its wheel); overlays need its H.264
    encoder."""
    try:
        import av
    except ImportError as exc:
        return Finding(check="ffmpeg", status="problem", detail=f"PyAV (the `av` package) is not installed ({exc})",
                       fix="run install.sh, or pip install av")
    from tools.overlay_video import H264_ENCODER, encoder_problem

    libraries = f"FFmpeg {av.ffmpeg_version_info} in PyAV {av.__version__}"
    problem = encoder_problem()
    if problem is not None:
        return Finding(check="ffmpeg", status="problem", detail=f"{libraries}: decodes, but {problem}",
                       fix="reinstall PyAV from its PyPI wheel (pip install --force-reinstall av), which ships libx264")
    return Finding(check="ffmpeg", status="ok", detail=f"{libraries}: decodes in process; H.264 overlays with {H264_ENCODER}")


def _torch(device: str | None) -> tuple[Finding, str]:
    import psutil
    import torch

    if device:
        name = device
    elif torch.cuda.is_available():
        name = "cuda"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        name = "mps"
    else:
        name = "cpu"
    kind = name.split(":")[0]
    if kind == "cuda":
        if not torch.cuda.is_available():
            return (Finding(check="torch", status="problem", detail=f"torch {torch.__version__}: --device {name} but "
                            "CUDA is not available", fix="install a CUDA build of torch, or use --device cpu"), name)
        free, total = torch.cuda.mem_get_info(torch.device(name))
        where = f"{torch.cuda.get_device_name(torch.device(name))}, {free / GIB:.1f} of {total / GIB:.1f} GiB free"
    else:
        memory = psutil.virtual_memory()
        where = f"{os.cpu_count()} cores, {memory.available / GIB:.1f} of {memory.total / GIB:.1f} GiB free"
    return Finding(check="torch", status="ok", detail=f"torch {torch.__version__}; models run on {name} ({where})"), name


def _model(db: Path, model: str | None, revision: str | None, dtype: str | None, device: str) -> list[Finding]:
    import torch

    from sa2va_engine import hub
    from sa2va_engine.memory_check import available_bytes, needed_bytes, parameter_count
    from sa2va_engine.sa2va import Sa2VA
    from sa2va_engine.settings import settings
    from sa2va_engine.user_error import UserError
    from tools.engine_session import model_name, parse_dtype

    try:
        name = hub.with_revision(model_name(model or settings().model or _indexed_model(db)), revision)
        chosen = parse_dtype(dtype) or (torch.bfloat16 if device.startswith("cuda") else torch.float32)
    except UserError as exc:
        return [Finding(check="model", status="problem", detail=str(exc), fix="see --help for --model and --dtype")]
    path = Path(name).expanduser()
    ref = None if path.exists() else hub.parse_ref(name)
    if ref is not None:
        folder = hub.cached_snapshot(ref)
        if folder is None:
            where = f"the Hugging Face cache ({hub.cache_dir()})"
            if hub.offline():
                return [Finding(check="model", status="problem", detail=f"{ref.spec} is not in {where} and "
                                "HF_HUB_OFFLINE is set", fix="unset HF_HUB_OFFLINE for the first run, or pass a "
                                "downloaded folder with --model DIR, or --model demo")]
            return [Finding(check="model", status="warn", detail=f"{ref.spec} is not in {where} yet; the first run "
                            "downloads it (needs network)", fix="run once with network, or use --model DIR or --model demo")]
        label = f"{ref.repo_id} at {folder.name[:12]} (cached)"
    elif path.is_dir():
        folder, label = path, str(path)
    else:
        return [Finding(check="model", status="problem", detail=f"{name}: no such checkpoint directory or hub id",
                        fix="pass --model with a Sa2VA checkpoint folder or hub id, or --model demo")]
    try:
        tensors = Sa2VA.check_pretrained(folder)
        parameters = parameter_count(folder)
    except UserError as exc:
        return [Finding(check="model", status="problem", detail=str(exc),
                        fix="download the checkpoint again (a different --revision, or delete it from the cache)")]
    findings = [Finding(check="model", status="ok",
                        detail=f"{label}: {tensors} tensors, {_count(parameters)} parameters, keys and shapes match "
                               "the model (strict)")]
    need = needed_bytes(parameters, chosen)
    dtype_name = str(chosen).removeprefix("torch.")
    try:
        free = available_bytes(torch.device(device))
    except (RuntimeError, AssertionError) as exc:
        return findings + [Finding(check="memory", status="problem", detail=f"cannot read free memory on {device} "
                                   f"({str(exc).splitlines()[0]})", fix="use --device cpu")]
    status: Status = "ok" if need <= free else "problem"
    ways = "use --dtype bfloat16" if chosen == torch.float32 else "free memory or use a smaller checkpoint"
    findings.append(Finding(check="memory", status=status, fix=ways,
                            detail=f"the model needs about {need / GIB:.1f} GiB in {dtype_name} on {device}, "
                                   f"{free / GIB:.1f} GiB is free"))
    return findings


def _count(parameters: int) -> str:
    return f"{parameters / 1e9:.2f} B" if parameters >= 1e9 else f"{parameters / 1e6:.1f} M"


def _indexed_model(db: Path) -> str | None:
    """The index's model as `sva index` / `sva query` would default to it, read without upgrading the file."""
    import duckdb

    try:
        with duckdb.connect(str(Path(db).expanduser()), read_only=True) as con:
            row = con.execute("SELECT model FROM jobs WHERE model IS NOT NULL ORDER BY job_id DESC LIMIT 1").fetchone()
    except duckdb.Error:  # no file, an older schema, in use, unreadable: the index line says which
        return None
    return row[0] if row else None


def _index(db: Path) -> Finding:
    import duckdb

    from index.schema import CURRENT_VERSION, schema_version

    db = Path(db).expanduser()
    folder = next((p for p in (db.parent, *db.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(folder).free
    disk = f"{free / GIB:.1f} GiB free on its disk"
    if free < MIN_FREE_DISK:
        return Finding(check="index", status="problem", detail=f"{db}: only {disk}",
                       fix=f"free space under {folder} or put the index elsewhere with --db / SVA_DB")
    if not db.exists():
        return Finding(check="index", status="ok", detail=f"{db}: none yet (`sva index` creates it); {disk}")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return Finding(check="index", status="ok", detail=f"{db}: in use by an indexer right now; {disk}")
        return _unreadable(db, exc)
    except duckdb.Error as exc:
        return _unreadable(db, exc)
    try:
        version = schema_version(con)
        if version > CURRENT_VERSION:
            return Finding(check="index", status="problem", detail=f"{db}: schema v{version}, newer than this sva "
                           f"(v{CURRENT_VERSION})", fix="upgrade sva (pip install -U), or use another --db")
        videos = con.execute("SELECT count(*) FROM videos").fetchone()[0] if version else 0
    except duckdb.Error as exc:
        return _unreadable(db, exc)
    finally:
        con.close()
    upgrade = "" if version == CURRENT_VERSION else f", upgraded to v{CURRENT_VERSION} when next opened"
    return Finding(check="index", status="ok", detail=f"{db}: schema v{version}{upgrade}, {videos} videos; {disk}")


def _unreadable(db: Path, exc: Exception) -> Finding:
    reason = " ".join(str(exc).split())[:200]
    return Finding(check="index", status="problem", detail=f"{db}: not a readable sva index ({reason})",
                   fix="restore a copy of the file, or move it away and index the videos again")


def _chromium() -> Finding:
    found = next((c for c in CHROMIUM if Path(c).is_file()), None) or shutil.which("chromium")
    if found:
        return Finding(check="chromium", status="ok", detail=f"{found} (for the dashboard's browser test)")
    return Finding(check="chromium", status="warn", detail="not found; only the dashboard's browser test needs it",
                   fix="apt-get install chromium (install.sh does this where apt-get exists)")
