"""`Sa2VA`: the engine's public API — load a checkpoint, then chat, segment, caption and track.

Inputs are images or frame sequences (PIL images or (H, W, 3) uint8 RGB arrays, or objects with
``image`` and ``time_s`` such as decoded video frames). Masks come back at the input's resolution.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image

from sa2va_engine import checkpoint, families, prompts
from sa2va_engine.errors import CheckpointError, InputError
from sa2va_engine.input_handling import handling_of
from sa2va_engine.key_frames import LLM_FRAMES
from sa2va_engine.llm_runner import (forced_seg_states, generate, generate_batch, next_token_logits,
                                     next_token_logits_batch)
from sa2va_engine.masklet import Masklet, TrackPoint
from sa2va_engine.model import Sa2VAModel
from sa2va_engine.frame_pixels import frame_pixels, shrunk
from sa2va_engine.region_zoom import mark_region, zoom_settings, zoom_to_region
from sa2va_engine.results import ChatAnswer, GroundedCaption, GroundedPhrase, SegPrompt, Segmentation
from sa2va_engine.sam2_config import Sam2Config
from sa2va_engine.mask_encoding import track_points, upscale
from sa2va_engine.memory_check import check_fits
from sa2va_engine.sam2_streams import FrameStream, run_streams
from sa2va_engine.sam2_tracker import StreamingTracker
from sa2va_engine.vlm_family import VlmFamily

# The reference shows the LLM at most this many frames of a clip (the rest are reached by SAM-2 memory).


@dataclass
class TrackInput:
    """One clip for `Sa2VA.track_many`: the arguments of `Sa2VA.track`."""

    frames: Iterable
    expressions: Sequence[str]
    key_frames: Sequence[int] | None = None
    frame_times: Sequence[float] | None = None
    prompt_every_frame: bool = False
    seg_prompts: Sequence[SegPrompt] = ()


class Sa2VA:
    def __init__(self, model: Sa2VAModel, family: VlmFamily, processor, raw_config: dict, device: torch.device,
                 dtype: torch.dtype, directory: Path | None = None):
        self.model = model.eval()
        self.directory = directory  # the checkpoint folder it was loaded from (a hub snapshot names its commit)
        self.generated_tokens = 0  # every token generated since loading (indexing reports tokens per chunk)
        self.family = family
        self.processor = processor
        self.raw_config = raw_config
        frame_pixels(raw_config)  # a bad frame budget fails the load, not the first chunk
        self.device = device
        self.dtype = dtype
        tok = family.tokenizer(processor)
        self.seg_id = tok.convert_tokens_to_ids(prompts.SEG_TOKEN)
        # How images go in and masks come out: the reference's for official checkpoints (input_handling.py).
        self.handling = self.model.sam2.handling = handling_of(raw_config)
        self._mask_via = self.model.sam2.image_size if self.handling.mask_upsample == "via_sam2_size" else None
        if self.seg_id is None or self.seg_id == tok.unk_token_id:
            raise CheckpointError("the checkpoint's tokenizer has no [SEG] token: not a Sa2VA checkpoint")

    @property
    def frame_pixels(self) -> int | None:
        """Frames the LLM sees are shrunk to this many pixels; regions up close keep the processor's budget."""
        return frame_pixels(self.raw_config)

    def _llm_view(self, frames: list[np.ndarray]) -> list[Image.Image]:
        return _llm_images(frames, self.frame_pixels)

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path_or_id: str | Path, device: str | torch.device | None = None,
                        dtype: torch.dtype | None = None) -> "Sa2VA":
        """Load an official Sa2VA checkpoint (hub id or directory). CPU defaults to float32, CUDA to bf16."""
        directory = checkpoint.resolve(path_or_id)
        raw = checkpoint.read_config(directory)
        family = families.detect_family(raw, directory)
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = dtype or (torch.bfloat16 if device.type == "cuda" else torch.float32)
        check_fits(directory, str(path_or_id), device, dtype)
        config, sam2_config, processor = _configs(raw, family, directory)
        model = _build(family, config, sam2_config, dtype)
        checkpoint.load_weights(model, directory, family)
        model.to(device)
        return cls(model, family, processor, raw, device, dtype, directory)

    @staticmethod
    def check_pretrained(directory: str | Path) -> int:
        """What `from_pretrained` checks on a local checkpoint folder without loading a weight: the config, the
        family, the processor, and every weight's key and shape against the model (built on the meta device,
        shapes from the shards' headers). Returns the number of stored tensors; raises what loading would."""
        directory = Path(directory)
        raw = checkpoint.read_config(directory)
        family = families.detect_family(raw, directory)
        config, sam2_config, _ = _configs(raw, family, directory)
        from accelerate import init_empty_weights  # parameters on meta; SAM-2's build needs real small tensors

        with init_empty_weights(include_buffers=False):
            model = _build(family, config, sam2_config, torch.float32)
        model.mllm.tie_weights()  # inside, each registration wraps a new Parameter, which unties them
        return checkpoint.check_weights(model, directory, family)

    def save_pretrained(self, directory: str | Path, dtype: torch.dtype | None = None) -> Path:
        """Write config, weights (in ``dtype`` when given, e.g. bfloat16 as published) and processor files."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(self.raw_config, indent=2))
        checkpoint.save_weights(self.model, directory, self.family, dtype=dtype)
        self.processor.save_pretrained(str(directory))
        return directory

    # -- text ---------------------------------------------------------------------------------
    def chat(self, visual=None, question: str = "", history: list[tuple[str, str]] | None = None,
             max_new_tokens: int = 256) -> ChatAnswer:
        """Answer ``question`` about an image or frames (or text only when ``visual`` is None)."""
        images = self._llm_view(_frames(visual)) if visual is not None else []
        out = self._generate(images, question, history, max_new_tokens)
        return ChatAnswer(text=out.text, seg_count=len(out.seg_states))

    def chat_batch(self, visuals: Sequence, question: str, max_new_tokens: int = 256) -> list[ChatAnswer]:
        """`chat` of one question about several visuals (clips), in one batched generation where the VLM family
        batches prompts (Qwen-VL), else one after another. Greedy: each answer is the one `chat` gives."""
        outs = self._generate_many([self._llm_view(_frames(v)) for v in visuals], question, max_new_tokens)
        return [ChatAnswer(text=out.text, seg_count=len(out.seg_states)) for out in outs]

    def ground_caption_batch(self, visuals: Sequence, max_new_tokens: int = 256) -> list[GroundedCaption]:
        """`ground_caption(..., with_masks=False)` of several visuals in one batched generation (see `chat_batch`):
        captions and their phrases, without masks (the caller tracks the phrases)."""
        outs = self._generate_many([self._llm_view(_frames(v)) for v in visuals],
                                   prompts.GROUNDED_CAPTION, max_new_tokens)
        return [self._grounded_without_masks(out, _frames(v)) for out, v in zip(outs, visuals)]

    def _generate_many(self, image_sets: list, text: str, max_new_tokens: int) -> list:
        if not image_sets:
            return []
        if not self.family.batches_prompts or len(image_sets) == 1:
            return [self._generate(images, text, None, max_new_tokens) for images in image_sets]
        with self._autocast():
            outs = generate_batch(self.model.mllm, self.family, self.processor, image_sets, text, seg_id=self.seg_id,
                                  max_new_tokens=max_new_tokens, device=self.device, dtype=self.dtype)
        self.generated_tokens += sum(len(out.token_ids) for out in outs)
        return outs

    def yes_probability(self, visual, question: str) -> float:
        """P(yes) from the next-token distribution after ``question`` (yes vs no), not from parsed prose."""
        images = self._llm_view(_frames(visual)) if visual is not None else []
        with self._autocast():
            logits = next_token_logits(self.model.mllm, self.family, self.processor, images,
                                       question.strip() + prompts.YES_NO_SUFFIX, device=self.device, dtype=self.dtype)
        return self._p_yes(logits[None])[0]

    def yes_probabilities(self, visuals: Sequence, question: str) -> list[float]:
        """`yes_probability` of one question over several visuals (clips), in one forward pass where the VLM
        family batches prompts (Qwen-VL), else one after another."""
        if not visuals:
            return []
        if not self.family.batches_prompts or len(visuals) == 1:
            return [self.yes_probability(v, question) for v in visuals]
        image_sets = [self._llm_view(_frames(v)) if v is not None else [] for v in visuals]
        with self._autocast():
            logits = next_token_logits_batch(self.model.mllm, self.family, self.processor, image_sets,
                                             question.strip() + prompts.YES_NO_SUFFIX, device=self.device,
                                             dtype=self.dtype)
        return self._p_yes(logits)

    def _p_yes(self, logits: torch.Tensor) -> list[float]:
        """P(yes) / (P(yes) + P(no)) of each row of (batch, vocab) next-token logits."""
        tok = self.family.tokenizer(self.processor)
        yes = sorted({_first_token(tok, w) for w in ("Yes", "yes", " Yes", " yes")})
        no = sorted({_first_token(tok, w) for w in ("No", "no", " No", " no")})
        margin = torch.logsumexp(logits[:, yes], 1) - torch.logsumexp(logits[:, no], 1)
        return [float(p) for p in torch.sigmoid(margin)]

    # -- masks --------------------------------------------------------------------------------
    def segment(self, visual, expression: str, mode: str = "forced") -> Segmentation:
        """Masks of ``expression`` on every input frame. ``mode="forced"`` teacher-forces "Sure, [SEG]."
        (one forward pass); ``"generate"`` lets the model answer and uses its first `[SEG]`."""
        frames = _frames(visual)
        if mode == "forced":
            answer = prompts.FORCED_ANSWER
            states = self._forced_states(frames, [expression])
        elif mode == "generate":
            out = self._generate(self._llm_view(frames), prompts.referring_prompt(expression), None, 64)
            answer, states = out.text, out.seg_states[:1]
        else:
            raise InputError(f"segment mode {mode!r}: use 'forced' or 'generate'")
        if len(states) == 0:
            h, w = frames[0].shape[:2]
            return Segmentation(expression, np.zeros((len(frames), h, w), bool), np.zeros(len(frames)), answer)
        masks, scores = self._propagate(frames, self._prompt_tokens(states))
        return Segmentation(expression, masks[:, 0], scores[:, 0], answer)

    def ground_caption(self, visual, max_new_tokens: int = 256, with_masks: bool = True) -> GroundedCaption:
        """A caption whose `<p>phrase</p> [SEG]` parts each come with their masks on every frame.
        ``with_masks=False`` skips SAM-2 (phrases get empty (0, H, W) masks) for callers that track the
        phrases through more frames themselves."""
        frames = _frames(visual)
        out = self._generate(self._llm_view(frames), prompts.GROUNDED_CAPTION, None, max_new_tokens)
        if not with_masks:
            return self._grounded_without_masks(out, frames)
        phrases = _phrases_before_segs(out.text)
        text = _caption_text(out.text)
        n = min(len(phrases), len(out.seg_states))
        if n == 0:
            return GroundedCaption(text=text, raw=out.text)
        masks, scores = self._propagate(frames, self._prompt_tokens(out.seg_states[:n]))
        grounded = [GroundedPhrase(phrases[i], masks[:, i], scores[:, i]) for i in range(n)]
        return GroundedCaption(text=text, raw=out.text, phrases=grounded, seg_prompts=_seg_prompts(phrases, out, n))

    @staticmethod
    def _grounded_without_masks(out, frames: list[np.ndarray]) -> GroundedCaption:
        phrases = _phrases_before_segs(out.text)
        n = min(len(phrases), len(out.seg_states))
        h, w = frames[0].shape[:2]
        return GroundedCaption(text=_caption_text(out.text), raw=out.text, phrases=[
            GroundedPhrase(p, np.zeros((0, h, w), bool), np.zeros(0)) for p in phrases[:n]],
            seg_prompts=_seg_prompts(phrases, out, n))

    def region_caption(self, image, region, max_new_tokens: int = 64) -> str:
        """Describe a region given as a pixel box (x0, y0, x1, y1) or a bool mask of the image's size.

        The region is marked on the image with a red box and the model is asked about it: Sa2VA's
        `<vp>` region tokens exist only in the InternVL code path of the reference."""
        marked = _marked(image, region, self.frame_pixels)
        return self._generate([marked], prompts.REGION_CAPTION, None, max_new_tokens).text

    def region_captions(self, regions: Sequence[tuple[object, object]], max_new_tokens: int = 64) -> list[str]:
        """`region_caption` of several (image, region) pairs in one batched generation where the VLM family
        batches prompts (Qwen-VL), else one after another. Greedy: each answer is the one `region_caption` gives."""
        # every region checked before generating
        marked = [[_marked(image, region, self.frame_pixels)] for image, region in regions]
        return [out.text for out in self._generate_many(marked, prompts.REGION_CAPTION, max_new_tokens)]

    def region_names(self, regions: Sequence[tuple[object, object]], max_new_tokens: int = 12) -> list[str]:
        """A short name ("the red dog") for each (image, region) pair, region a pixel box or a bool mask: the region
        seen up close with its box drawn (`region_zoom`, the checkpoint's `sva_region_zoom` context and size),
        asked `prompts.REGION_NAME`; one batched generation where the family batches prompts. Greedy."""
        zoom = zoom_settings(self.raw_config)
        marked = [[_zoomed_and_marked(image, region, zoom)] for image, region in regions]
        return [out.text for out in self._generate_many(marked, prompts.REGION_NAME, max_new_tokens)]

    def track(self, frames: Iterable, expressions: Sequence[str], key_frames: Sequence[int] | None = None,
              frame_times: Sequence[float] | None = None, prompt_every_frame: bool = False,
              frame_batch: int = 1, seg_prompts: Sequence[SegPrompt] = ()) -> list[Masklet]:
        """One masklet per expression over all frames, streaming.

        The LLM sees the key frames (default: the first five) and gives one `[SEG]` per expression;
        SAM-2 segments the key frames from those prompts and carries the objects through the other
        frames with its memory. Frames are consumed as they are needed; only the frames up to the last key
        frame (and ``frame_batch`` more) are buffered. Times are ``frame_times``, the frames' own ``time_s``, or
        the frame index.

        The default is the reference's video inference (its ``predict_forward`` prompts the first min(5, n)
        frames and propagates the rest through SAM-2's memory). ``prompt_every_frame``: SAM-2 segments every
        frame from the first key frame on from the same prompts, each frame alone, with no memory; cheaper
        (no memory attention or encoder), and the better choice for a model whose memory does not tell its
        objects apart (bench/README.md).

        ``frame_batch``: frames SAM-2's image encoder takes at once (and, with ``prompt_every_frame``, its
        heads); results equal one at a time (1) up to float rounding (sa2va_engine/sam2_streams.py).

        ``seg_prompts``: `[SEG]` states the model already generated (a grounded caption's, `ground_caption`), each
        tracked as one more object after the expressions, its masklet named by its phrase."""
        return self.track_many([TrackInput(frames, expressions, key_frames, frame_times, prompt_every_frame,
                                           tuple(seg_prompts))], frame_batch)[0]

    def track_many(self, clips: Sequence[TrackInput], frame_batch: int = 1) -> list[list[Masklet]]:
        """`track` of several clips, one after another, SAM-2's image encoder running over ``frame_batch`` frames
        at a time across the clips' boundaries (several chunks' frames in one batch). One list of masklets per
        clip, each what `track` gives that clip up to float rounding."""
        for clip in clips:
            if not clip.expressions and not clip.seg_prompts:
                raise InputError("track: give at least one expression")
            if clip.key_frames and min(clip.key_frames) < 0:
                raise InputError(f"track: key frame {min(clip.key_frames)} is negative")
        names = [[*clip.expressions, *(p.phrase for p in clip.seg_prompts)] for clip in clips]
        points: list[list[list[TrackPoint]]] = [[[] for _ in clip_names] for clip_names in names]
        streams = (self._track_stream(clip) for clip in clips)
        for n, time_s, (h, w), result in run_streams(self.model.sam2, streams, frame_batch, self._sam2_context):
            if result is None:
                frame_points = [TrackPoint(time_s=time_s, present=False, score=0.0) for _ in points[n]]
            else:
                frame_points = track_points(time_s, result.low_res_logits, result.object_scores, h, w, self._mask_via)
            for j, point in enumerate(frame_points):
                points[n][j].append(point)
        return [[Masklet(expression=e, points=p) for e, p in zip(clip_names, clip_points)]
                for clip_names, clip_points in zip(names, points)]

    def _track_stream(self, clip: TrackInput) -> FrameStream:
        """A clip's frames for SAM-2, its prompts from the LLM on its key frames (buffered up to the last one)."""
        stream = iter(clip.frames)
        keys = sorted(set(clip.key_frames)) if clip.key_frames else list(range(LLM_FRAMES))
        buffered: list[tuple[float, np.ndarray]] = []
        for item in stream:
            buffered.append(_timed(item, len(buffered), clip.frame_times))
            if len(buffered) > keys[-1]:
                break
        if not buffered:
            raise InputError("track: no frames")
        keys = [k for k in keys if k < len(buffered)]
        # The expressions' states, then the given ones (a grounded caption's), one prompt per object.
        parts = [self._forced_states([buffered[k][1] for k in keys], list(clip.expressions))] if clip.expressions else []
        parts += [torch.stack([p.state for p in clip.seg_prompts])] if clip.seg_prompts else []
        states = torch.cat([p.to(parts[0].device, parts[0].dtype) for p in parts])

        def all_frames() -> Iterator[tuple[float, np.ndarray]]:
            yield from buffered
            for i, item in enumerate(stream, start=len(buffered)):
                yield _timed(item, i, clip.frame_times)

        return self._frame_stream(all_frames(), self._prompt_tokens(states), set(keys), clip.prompt_every_frame)

    # -- internals ----------------------------------------------------------------------------
    def _generate(self, images, text, history, max_new_tokens, min_new_tokens: int = 0):
        with self._autocast():
            out = generate(self.model.mllm, self.family, self.processor, images, text, seg_id=self.seg_id,
                           history=history, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens,
                           device=self.device, dtype=self.dtype)
        self.generated_tokens += len(out.token_ids)
        return out

    def _forced_states(self, frames: list[np.ndarray], expressions: list[str]) -> torch.Tensor:
        questions = [prompts.referring_prompt(e) for e in expressions]
        with self._autocast():
            return forced_seg_states(self.model.mllm, self.family, self.processor, self._llm_view(frames), questions,
                                     prompts.FORCED_ANSWER, seg_id=self.seg_id, device=self.device, dtype=self.dtype)

    def _propagate(self, frames: list[np.ndarray], prompt_tokens: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Masks (F, K, H, W) and scores (F, K) for in-memory frames; the LLM saw the first few."""
        keys = set(range(min(LLM_FRAMES, len(frames))))
        k = prompt_tokens.shape[0]
        masks, scores = [], []
        for _, (h, w), result in self._stream(((float(i), f) for i, f in enumerate(frames)), prompt_tokens, keys):
            masks.append(np.zeros((k, h, w), bool) if result is None else upscale(result.low_res_logits, h, w, self._mask_via).cpu().numpy())
            scores.append(np.zeros(k) if result is None else result.object_scores.float().cpu().numpy())
        return np.stack(masks), np.stack(scores)

    def _stream(self, frames: Iterable[tuple[float, np.ndarray]], prompt_tokens: torch.Tensor, keys: set[int],
                every_frame: bool = False, frame_batch: int = 1):
        """(time, (height, width), SAM-2's result on the device) per frame; the result is None before the
        first key frame, where tracking has not started. ``every_frame``: all later frames are prompted too."""
        stream = self._frame_stream(frames, prompt_tokens, keys, every_frame)
        for _, time_s, size, result in run_streams(self.model.sam2, [stream], frame_batch, self._sam2_context):
            yield time_s, size, result

    def _frame_stream(self, frames: Iterable[tuple[float, np.ndarray]], prompt_tokens: torch.Tensor, keys: set[int],
                      every_frame: bool) -> FrameStream:
        tracker = StreamingTracker(self.model.sam2, prompt_tokens.shape[0], remember=not every_frame)
        self.last_tracker = tracker  # kept for inspection (tests count encoder calls)
        return FrameStream(frames, tracker, prompt_tokens, keys, every_frame)

    @contextlib.contextmanager
    def _sam2_context(self):
        with torch.inference_mode(), self._autocast():
            yield

    def _prompt_tokens(self, seg_states: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.model.seg_embeddings(seg_states)

    def _autocast(self):
        if self.device.type == "cuda" and self.dtype in (torch.bfloat16, torch.float16):
            return torch.autocast("cuda", dtype=self.dtype)
        return contextlib.nullcontext()


def _seg_prompts(phrases: list[str], out, n: int) -> list[SegPrompt]:
    return [SegPrompt(phrases[i], out.seg_states[i]) for i in range(n)]


def _caption_text(raw: str) -> str:
    """A grounded caption's text: the answer without `[SEG]` and the phrase markup."""
    return re.sub(r"\s*\[SEG\]", "", raw).replace(prompts.PHRASE_START, "").replace(prompts.PHRASE_END, "").strip()


def _configs(raw: dict, family: VlmFamily, directory: Path):
    """The VLM config (completed from the processor), SAM-2's config and the processor of a checkpoint."""
    try:
        config = family.make_config(raw)
        sam2_config = Sam2Config(**raw.get("sam2_config", {}))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{directory / 'config.json'}: invalid configuration ({str(exc).splitlines()[0]})") from exc
    processor = family.load_processor(directory)
    family.complete_config(config, processor)
    return config, sam2_config, processor


def _build(family: VlmFamily, config, sam2_config: Sam2Config, dtype: torch.dtype) -> Sa2VAModel:
    """Construct the network without spending time on random init: every weight is overwritten by the load."""
    from transformers.modeling_utils import no_init_weights

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with no_init_weights():
            mllm = family.build(config)
            # transformers ties embeddings only when it initialises weights (or in its own
            # from_pretrained); a tied checkpoint (Qwen3-VL-4B) stores lm_head once, as embed_tokens.
            mllm.tie_weights()
            return Sa2VAModel(mllm, family.hidden_size(config), sam2_config).to(dtype)
    finally:
        torch.set_default_dtype(previous)


def _as_array(item) -> np.ndarray:
    if isinstance(item, Image.Image):
        return np.asarray(item.convert("RGB"))
    array = np.asarray(item)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise InputError(f"a frame must be an RGB image or (H, W, 3) uint8 array, got {array.dtype} {array.shape}")
    if array.shape[0] < 2 or array.shape[1] < 2:
        raise InputError(f"a frame of {array.shape[1]}x{array.shape[0]} px is too small")
    return array


def _timed(item, index: int, frame_times: Sequence[float] | None) -> tuple[float, np.ndarray]:
    if hasattr(item, "image") and hasattr(item, "time_s"):
        return float(item.time_s), _as_array(item.image)
    time_s = float(frame_times[index]) if frame_times is not None else float(index)
    return time_s, _as_array(item)


def _frames(visual) -> list[np.ndarray]:
    if visual is None:
        raise InputError("no image or frames given")
    if isinstance(visual, Image.Image) or (isinstance(visual, np.ndarray) and visual.ndim == 3):
        return [_as_array(visual)]
    frames = [_timed(v, i, None)[1] for i, v in enumerate(visual)]
    if not frames:
        raise InputError("an empty list of frames")
    return frames


def _llm_images(frames: list[np.ndarray], budget: int | None = None) -> list[Image.Image]:
    """The frames the LLM sees (the first `LLM_FRAMES`), each within the checkpoint's frame budget."""
    return [shrunk(Image.fromarray(f), budget) for f in frames[:LLM_FRAMES]]


def _phrases_before_segs(raw: str) -> list[str]:
    """The `<p>phrase</p>` that precedes each `[SEG]`, in order (empty phrase when none does)."""
    phrases = []
    for match in re.finditer(r"\[SEG\]", raw):
        before = raw[: match.start()]
        found = re.findall(r"<p>(.*?)</p>", before, flags=re.S)
        phrases.append(found[-1].strip() if found else "")
    return phrases


def _marked(image, region, budget: int | None) -> Image.Image:
    """The image with the region drawn on it as a red box (how the model is shown which region is meant), within the
    frame budget: it is a whole frame."""
    frame = _frames(image)[0]
    return shrunk(mark_region(frame, _region_box(region, frame.shape[:2])), budget)


def _zoomed_and_marked(image, region, zoom: dict) -> Image.Image:
    """The region up close (sa2va_engine/region_zoom.py) with its box drawn on the zoomed image."""
    frame = _frames(image)[0]
    zoomed, box = zoom_to_region(frame, _region_box(region, frame.shape[:2]), **zoom)
    return mark_region(zoomed, box)


def _region_box(region, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    h, w = shape
    array = np.asarray(region)
    if array.shape == (4,):
        x0, y0, x1, y1 = (float(v) for v in array)
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise InputError(f"region box {tuple(array.tolist())} is not inside the {w}x{h} image")
        return int(x0), int(y0), int(x1), int(y1)
    if array.shape == (h, w):
        ys, xs = np.nonzero(array)
        if len(xs) == 0:
            raise InputError("region mask is empty")
        return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    raise InputError(f"region must be a box (x0, y0, x1, y1) or a {h}x{w} mask, got shape {array.shape}")


def _first_token(tokenizer, word: str) -> int:
    return tokenizer(word, add_special_tokens=False)["input_ids"][0]
