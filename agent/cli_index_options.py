"""Indexing options shared by `sva index` and `sva schedule add` (a schedule stores what `sva index` would take)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

SampleFps = Annotated[float, typer.Option(min=0.001, help="frames per second analysed")]
ChunkS = Annotated[float, typer.Option(min=0.5, help="chunk length, seconds")]
OverlapS = Annotated[float, typer.Option(min=0.0, help="seconds shared by consecutive chunks")]
MaxSide = Annotated[int, typer.Option(min=32, help="long side of analysed frames, pixels")]
SceneCuts = Annotated[bool, typer.Option("--scene-cuts/--no-scene-cuts", help="snap chunks to scene cuts")]
Caption = Annotated[bool, typer.Option("--caption/--no-caption", help="caption each chunk")]
Ground = Annotated[bool, typer.Option("--ground/--no-ground", help="grounded caption of each chunk")]
Track = Annotated[bool, typer.Option("--track/--no-track", help="track objects through each chunk")]
Describe = Annotated[bool, typer.Option("--describe/--no-describe", help="describe each new object")]
# SAM-2 reads every frame alone from the [SEG] prompt, as the reference's video inference does, instead of its
# memory carrying the key frames' masks: for models whose memory confuses objects (the demo model's does).
PromptEveryFrame = Annotated[bool, typer.Option(
    "--prompt-every-frame/--no-prompt-every-frame",
    help="tracks: the [SEG] prompt segments every frame alone (no SAM-2 memory) instead of memory carrying the key frames")]
Device = Annotated[Optional[str], typer.Option(help="torch device (default: cuda if present, else cpu)")]
RayWorkers = Annotated[Optional[int], typer.Option(min=1, help="engine actors (default: one per GPU, else one per CPU)")]
