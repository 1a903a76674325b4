"""Options shared by the commands that index or track: `sva index`, `sva schedule add` (a schedule stores what
`sva index` would take), and `--prompt-every-frame` also on `sva track` and `sva query`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from sa2va_engine.key_frames import PROMPT_EVERY_FRAME_HELP

SAMPLE_FPS = typer.Option(min=0.001, help="frames per second analysed (default: the model's preset, else 2)")
CHUNK_S = typer.Option(min=0.5, help="chunk length, seconds (default: the model's preset, else 10)")
OVERLAP_S = typer.Option(min=0.0, help="seconds shared by consecutive chunks (default: the model's preset, else 1)")
MAX_SIDE = typer.Option(min=32, help="long side of analysed frames, pixels (default: the model's preset, else 1024)")
SampleFps = Annotated[float, typer.Option(min=0.001, help="frames per second analysed")]
ChunkS = Annotated[float, typer.Option(min=0.5, help="chunk length, seconds")]
OverlapS = Annotated[float, typer.Option(min=0.0, help="seconds shared by consecutive chunks")]
MaxSide = Annotated[int, typer.Option(min=32, help="long side of analysed frames, pixels")]
SceneCuts = Annotated[bool, typer.Option("--scene-cuts/--no-scene-cuts", help="snap chunks to scene cuts")]
Caption = Annotated[bool, typer.Option("--caption/--no-caption", help="caption each chunk")]
Ground = Annotated[bool, typer.Option("--ground/--no-ground", help="grounded caption of each chunk")]
Track = Annotated[bool, typer.Option("--track/--no-track", help="track objects through each chunk")]
Describe = Annotated[bool, typer.Option("--describe/--no-describe", help="describe each new object")]
NAME_OBJECTS = typer.Option("--name-objects/--no-name-objects", help="store each object the grounded caption finds "
                            "under the name the model gives it seen up close (default: the model's preset, else off)")
SWEEP = typer.Option("--sweep/--no-sweep", help="also ground each key frame alone and track each [SEG] of the grounded "
                     "caption, and name what moves up close, for objects no phrase covers (default: the model's preset, else on)")
FILL_GAPS = typer.Option("--fill-gaps/--no-fill-gaps", help="once a video is done, track each stored object by its "
                         "label through the chunks that lack it (default: the model's preset, else on)")
DESCRIBE = typer.Option("--describe/--no-describe", help="describe each new object (default: the model's preset, else on)")
# For models whose SAM-2 memory confuses objects (the demo model's does).
PromptEveryFrame = Annotated[bool, typer.Option("--prompt-every-frame/--no-prompt-every-frame",
                                                help="tracks: " + PROMPT_EVERY_FRAME_HELP)]
PROMPT_EVERY_FRAME = typer.Option("--prompt-every-frame/--no-prompt-every-frame",
                                  help="tracks: " + PROMPT_EVERY_FRAME_HELP + " (default: the model's preset, else off)")
Device = Annotated[Optional[str], typer.Option(help="torch device (default: cuda if present, else cpu)")]
RayWorkers = Annotated[Optional[int], typer.Option(min=1, help="engine actors (default: one per GPU, else one per CPU)")]
Revision = Annotated[Optional[str], typer.Option(
    help="hub revision (commit, branch or tag) of a hub --model (default: the official model's pinned commit, "
         "else main)")]
Dtype = Annotated[Optional[str], typer.Option(
    help="float32, bfloat16 or float16 (default: $SVA_DTYPE, else bfloat16 on CUDA and float32 on CPU; bfloat16 "
         "halves a model's memory on CPU)")]
