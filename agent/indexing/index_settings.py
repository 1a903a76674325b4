"""Everything a user can choose about an indexing run; defaults are what a first run should use."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from sa2va_engine.key_frames import PROMPT_EVERY_FRAME_HELP
from tools.clip import LLM_FRAMES
from tools.video_decode import DEFAULT_MAX_SIDE, DEFAULT_SAMPLE_FPS


class IndexSettings(BaseModel):
    db: Path
    model: str | None = Field(default=None, description="hub id or directory; None: $SVA_MODEL or the default")
    device: str | None = Field(default=None, description="torch device; None: CUDA when present, else CPU")
    dtype: str | None = Field(default=None, description="float32, bfloat16 or float16; None: $SVA_DTYPE, else "
                              "bfloat16 on CUDA and float32 elsewhere")
    sample_fps: float = Field(default=DEFAULT_SAMPLE_FPS, gt=0, description="frames per second analysed")
    max_side: int = Field(default=DEFAULT_MAX_SIDE, ge=32, description="long side of decoded frames, pixels")
    chunk_s: float = Field(default=10.0, gt=0, description="chunk length, seconds")
    overlap_s: float = Field(default=1.0, ge=0, description="seconds shared by consecutive chunks (for linking)")
    scene_cuts: bool = Field(default=False, description="snap chunk boundaries to scene cuts (one more decode pass)")
    caption: bool = Field(default=True, description="caption each chunk (video chat)")
    ground: bool = Field(default=True, description="grounded caption of each chunk: phrases to track")
    track: bool = Field(default=True, description="track phrases (and watch expressions) through each chunk")
    describe: bool = Field(default=True, description="describe each new object in words (region caption)")
    name_objects: bool = Field(default=False, description="store each object found by the grounded caption under "
                               "the name the model gives it seen up close (its box zoomed), not under the caption's "
                               "phrase; watched expressions keep their words")
    sweep: bool = Field(default=True, description="also ground each key frame alone and track each [SEG] of the "
                        "grounded caption, keeping what finds an object no phrase covers (every object in view gets a "
                        "track; costs a batched single-frame generation and a few more tracks per chunk)")
    motion_sweep: bool = Field(default=True, description="with sweep: also name what moves in each chunk where the "
                               "camera is still (tools/motion_regions.py) up close, and track the names no phrase "
                               "gave, keeping a track that covers what moved and finds a new object")
    fill_gaps: bool = Field(default=True, description="once a video's chunks are done, track each stored object by its "
                            "label through the chunks that lack it, keeping what finds it where nothing was tracked "
                            "(agent/indexing/gap_fill.py; costs one more track call per such chunk)")
    watch: list[str] = Field(default_factory=list, description="expressions tracked in every chunk, e.g. 'a person'")
    key_frames: int = Field(default=LLM_FRAMES, ge=1, description="frames of a chunk the LLM sees")
    prompt_every_frame: bool = Field(default=False, description="tracks: " + PROMPT_EVERY_FRAME_HELP)
    link_iou: float = Field(default=0.5, ge=0, le=1, description="mask IoU on the overlap that links two tracks")
    max_new_tokens: int = Field(default=128, ge=1, description="cap on each generated caption, tokens")
    decode_ahead: int = Field(default=3, ge=0, description="chunks decoded ahead of the model in a background "
                              "thread (0: decode in turn); memory grows by this many chunks' frames")
    commit_behind: int | None = Field(default=None, ge=0, description="chunks whose link and commit (embedding "
                                      "their texts, one transaction) may wait in a background thread while the next "
                                      "chunks are decoded and analysed (0: commit each chunk before the next); a kill "
                                      "-9 loses at most these; None: 4 on CUDA, 0 elsewhere (see chunks_behind)")
    batch_chunks: int | None = Field(default=None, ge=1, description="chunks captioned, grounded and tracked together "
                                     "(one batched generation each; SAM-2 over their frames in batches): the current "
                                     "one and those already decoded ahead (1: one at a time); None: 4 on CUDA, 1 "
                                     "elsewhere (see chunk_batch)")

    frame_batch: int | None = Field(default=None, ge=1, description="frames SAM-2's image encoder takes at once (and "
                                    "its heads, for frames prompted alone), across the chunks tracked together; "
                                    "None: 8 on CUDA, 1 elsewhere (see sam2_frame_batch)")

    def sam2_frame_batch(self) -> int:
        """How many frames SAM-2 encodes in one batch. Results equal one frame at a time up to float rounding, and
        the batches of a chunk tracked alone are always the same, so a rerun stores the same rows; on CPU batching
        measured no faster (bench/README.md, #24), so the default there is 1 (one frame at a time, as before)."""
        if self.frame_batch is not None:
            return self.frame_batch
        device = self.device or ("cuda" if _cuda_available() else "cpu")
        return 8 if device.startswith("cuda") else 1

    def chunks_behind(self) -> int:
        """How many chunks may wait to be linked and committed behind the analysis. On CUDA the model waits on the
        device, so a thread committing beside it costs nothing. On CPU it measured slower than committing in
        turn (bench/README.md, #24): the commit thread's Python takes the GIL from the model's generation loop, and
        a commit in turn costs ~20 ms now that the writer keeps its connection (index/write_session.py)."""
        if self.commit_behind is not None:
            return self.commit_behind
        device = self.device or ("cuda" if _cuda_available() else "cpu")
        return 4 if device.startswith("cuda") else 0

    def chunk_batch(self) -> int:
        """How many chunks share a caption / grounded-caption generation. Batched rows are padded and computed
        in other shapes, so a greedy answer can differ from the unbatched one where the model's two best tokens
        are within float rounding; which chunks share a batch depends on timing (what is decoded yet) and on
        what a resumed run has left. On CPU the default is therefore 1 (a rerun, a resume after kill -9 and a
        Ray run store exactly the same rows); on CUDA, where bf16 kernels already vary with batch shape and
        batching pays most, 4."""
        if self.batch_chunks is not None:
            return self.batch_chunks
        device = self.device or ("cuda" if _cuda_available() else "cpu")
        return 4 if device.startswith("cuda") else 1


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
