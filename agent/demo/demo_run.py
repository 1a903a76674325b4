"""`sva demo` and the accuracy evaluation: the shipped tiny Sa2VA on freshly generated synthetic videos.

The demo runs the real product path (write an mp4, `run_index`, `run_query`) on a world the model never
saw and prints the moments it found next to the world's ground-truth events. `evaluate` measures the
same path and the engine's masks and captions on many unseen worlds (bench/demo_accuracy.py, and a test
with floors).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from agent.demo.metrics import (balanced_accuracy, boundary_f, keyword_accuracy, mask_iou, match_events,
                                picks_own_object, roc_auc, temporal_iou)
from agent import run_settings
from agent.indexing.index_settings import IndexSettings
from agent.indexing.indexer import run_index
from agent.query.query_answer import QueryAnswer, QuerySettings
from agent.query.query_graph import run_query
from sa2va_engine import prompts
from sa2va_engine.demo_checkpoint import demo_model_path
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.key_frames import key_frame_indices
from sa2va_engine.synthetic.language import absent_names, object_phrase, referring_expressions, visible_objects
from sa2va_engine.synthetic.samples import PRESENCE_TEMPLATE, VERIFY_TEMPLATE, happens_in
from sa2va_engine.synthetic.world import World, WorldConfig, generate_world
from tools.model_preset import resolve_alias
from tools.synthetic_video import write_ground_truth, write_world_video

# Seeds the demo model's training never draws from (training uses seed * 100003 + [0, 400)).
UNSEEN_SEEDS = 1_000_000
DEMO_QUESTION = "find every moment the {name} jumps"


def index_settings(db: Path, model: str, prompt_every_frame: bool | None = None) -> IndexSettings:
    """What `sva index --model MODEL` uses: the model's preset (the demo model's: 4 fps, 3 s chunks, every frame
    prompted; sa2va_engine/synthetic/demo_recipe.py says why). `prompt_every_frame` overrides it (bench --memory)."""
    return run_settings.index_settings(db, model, prompt_every_frame=prompt_every_frame)


def query_settings(db: Path, model: str, prompt_every_frame: bool | None = None) -> QuerySettings:
    """What `sva query --db DB` uses after indexing with `model`: its preset, nothing of the demo's own."""
    return run_settings.query_settings(db, model, prompt_every_frame=prompt_every_frame)


def jumping_world(seed: int, duration_s: float, name: str = "red ball") -> World:
    """The first world from `seed` on in which an object called `name` jumps at least once."""
    config = WorldConfig(duration_s=duration_s)
    for s in range(seed, seed + 5000):
        world = generate_world(s, config)
        if any(o.name == name and any(e.kind == "jump" for e in world.events_of(o.object_id)) for o in world.objects):
            return world
    raise RuntimeError(f"no world with a jumping {name} in seeds {seed}..{seed + 4999}")


class DemoResult(BaseModel):
    video: str
    question: str
    answer: QueryAnswer
    events: list[tuple[float, float]]
    found: int


def run_demo(workdir: Path, seed: int, model: str | None = None, duration_s: float = 20.0,
             name: str = "red ball", engine: Sa2VA | None = None) -> DemoResult:
    model = resolve_alias(model) if model else str(demo_model_path())
    world = jumping_world(seed, duration_s, name)
    workdir.mkdir(parents=True, exist_ok=True)
    video = write_world_video(world, workdir / f"world_{world.seed}.mp4")
    write_ground_truth(world, workdir / f"world_{world.seed}.json")
    db = workdir / "index.duckdb"
    engine = engine or Sa2VA.from_pretrained(model)
    run_index([str(video)], index_settings(db, model), engine=engine, command="sva demo")
    obj = next(o for o in world.objects if o.name == name)
    events = [(e.start_s, e.end_s) for e in world.events_of(obj.object_id) if e.kind == "jump"]
    question = DEMO_QUESTION.format(name=name)
    answer = run_query(question, query_settings(db, model), engine=engine)
    moments = [(m.start_s, m.end_s) for m in answer.moments]
    return DemoResult(video=str(video), question=question, answer=answer, events=events,
                      found=match_events(moments, events))


def side_by_side(result: DemoResult) -> list[str]:
    """Moments and ground-truth events, each moment with its best temporal IoU."""
    lines = [f"question: {result.question}", f"answer:   {result.answer.answer}", "",
             f"{'found (s)':>16}  {'score':>5}  {'best tIoU':>9}    ground truth jumps (s)"]
    truth = [f"{a:6.2f} - {b:6.2f}" for a, b in result.events]
    rows = max(len(result.answer.moments), len(truth))
    for i in range(rows):
        left = " " * 36
        if i < len(result.answer.moments):
            m = result.answer.moments[i]
            best = max((temporal_iou((m.start_s, m.end_s), e) for e in result.events), default=0.0)
            left = f"{m.start_s:6.2f} - {m.end_s:6.2f}  {m.score:5.2f}  {best:9.2f}"
        lines.append(f"{left}    {truth[i] if i < len(truth) else ''}")
    lines.append("")
    lines.append(f"found {result.found} of {len(result.events)} jumps with temporal IoU >= 0.5; "
                 f"{len(result.answer.moments)} moment(s) returned")
    return lines


class Scores(BaseModel):
    worlds: int
    refer_miou: float
    # Key-frame masks, in clips with two or more objects, that overlap their own object more than any other.
    refer_picked_own: float
    track_j: float
    track_f: float
    # J split by frame: the key frames the LLM saw, and the others (carried by SAM-2's memory, or prompted
    # too when every frame is).
    key_j: float = 0.0
    other_j: float = 0.0
    caption_keyword_acc: float
    # Balanced accuracy (mean of the yes and the no recall) of P(yes) > 0.5 on the clips: 0.5 is chance.
    jump_question_acc: float
    presence_question_acc: float
    # ROC AUC of P(yes) itself, threshold-free: 0.5 when the answer does not depend on the clip.
    jump_question_auc: float = 0.5
    presence_question_auc: float = 0.5
    # The same questions answered by grounding (agent/query/grounded_check.py: the subject's mask and the model's
    # close-up names of it), as `sva query --verify-by grounding` answers them; for jumps, times whether the
    # subject's track shows one (tools/track_events.py).
    grounded_presence_auc: float = 0.5
    grounded_jump_auc: float = 0.5
    events: int
    event_recall: float
    event_precision: float

    @property
    def track_jf(self) -> float:
        return (self.track_j + self.track_f) / 2


def evaluate(engine: Sa2VA, model: str, workdir: Path, n_worlds: int, seed: int = UNSEEN_SEEDS,
             n_event_worlds: int | None = None, log: Callable[[str], None] | None = None,
             prompt_every_frame: bool | None = None) -> Scores:
    """Masks and captions on `n_worlds` unseen 3-s clips; event queries on `n_event_worlds` unseen 20-s videos.
    ``prompt_every_frame=False`` tracks as SAM-2's memory carries the key frames' picks instead."""
    every_frame = (index_settings(workdir / "index.duckdb", model).prompt_every_frame
                   if prompt_every_frame is None else prompt_every_frame)
    refer, picked, j_scores, f_scores, keywords = [], [], [], [], []
    key_j, other_j = [], []
    jump_answers: list[tuple[float, bool]] = []
    presence_answers: list[tuple[float, bool]] = []
    jump_grounded: list[tuple[float, bool]] = []
    presence_grounded: list[tuple[float, bool]] = []
    clip_config = WorldConfig(duration_s=3.0)
    for k in range(n_worlds):
        world = generate_world(seed + k, clip_config)
        indices = list(range(world.n_frames))
        frames = [world.frame(i) for i in indices]
        keys = key_frame_indices(len(frames))
        visible = visible_objects(world, 0.0, world.config.duration_s)
        seen = [frames[i] for i in keys]
        caption = engine.chat(seen, prompts.VIDEO_CAPTION, max_new_tokens=64).text
        keywords.append(keyword_accuracy(caption, [world.object(o).name for o in visible]))
        for obj in world.objects:
            jumps = any(happens_in(e.start_s, e.end_s, 0.0, world.config.duration_s)
                        for e in world.events_of(obj.object_id, "jump"))
            subject = object_phrase(obj)
            asked = engine.yes_probability(seen, VERIFY_TEMPLATE.format(subject=subject, predicate="jumps"))
            jump_answers.append((asked, jumps))
            asked = engine.yes_probability(seen, PRESENCE_TEMPLATE.format(subject=subject))
            presence_answers.append((asked, obj.object_id in visible))
        # Objects rarely leave a 3-s clip, so "no" items come mostly from things not in the world at all.
        for subject in absent_subjects(world):
            asked = engine.yes_probability(seen, PRESENCE_TEMPLATE.format(subject=subject))
            presence_answers.append((asked, False))
        for answer in grounded_answers(engine, world):
            presence_grounded.append((answer.p_yes, answer.present))
            if answer.of_object:
                jump_grounded.append((answer.p_yes * answer.jumped, answer.jumps))
        # All visible objects in one track call: SAM-2 encodes each frame once for all of them.
        expressions = [referring_expressions(world, oid)[0] for oid in visible]
        masklets = (engine.track(frames, expressions, key_frames=keys, prompt_every_frame=every_frame)
                    if expressions else [])
        for oid, masklet in zip(visible, masklets):
            for i, point in zip(indices, masklet.points):
                truth = world.masks(i).get(oid, np.zeros(frames[0].shape[:2], bool))
                pred = point.mask.decode() if point.present and point.mask else np.zeros_like(truth)
                j_scores.append(mask_iou(pred, truth))
                (key_j if i in keys else other_j).append(j_scores[-1])
                f_scores.append(boundary_f(pred, truth))
                if i in keys and truth.any():
                    refer.append(mask_iou(pred, truth))
                    if len(visible) >= 2:
                        picked.append(picks_own_object(pred, world.masks(i), oid))
    found = total_events = returned = matched_moments = 0
    for k in range(n_event_worlds if n_event_worlds is not None else max(1, n_worlds // 5)):
        world_dir = workdir / f"events_{k}"
        world = generate_world(seed + 10_000 + k, WorldConfig(duration_s=20.0))
        world_dir.mkdir(parents=True, exist_ok=True)
        video = write_world_video(world, world_dir / f"world_{world.seed}.mp4")
        db = world_dir / "index.duckdb"
        run_index([str(video)], index_settings(db, model, prompt_every_frame), engine=engine, command="evaluate")
        for obj in world.objects:
            events = [(e.start_s, e.end_s) for e in world.events_of(obj.object_id) if e.kind == "jump"]
            answer = run_query(DEMO_QUESTION.format(name=obj.name) + f" in {video.name}",
                               query_settings(db, model, prompt_every_frame), engine=engine)
            moments = [(m.start_s, m.end_s) for m in answer.moments]
            hit = match_events(moments, events)
            found += hit
            total_events += len(events)
            returned += len(moments)
            matched_moments += hit
            if log:
                log(f"{video.name} {obj.name}: events {events} moments {[(round(a, 2), round(b, 2)) for a, b in moments]}")
    return Scores(
        worlds=n_worlds, refer_miou=_mean(refer), refer_picked_own=_mean(picked), track_j=_mean(j_scores), track_f=_mean(f_scores),
        key_j=_mean(key_j), other_j=_mean(other_j),
        caption_keyword_acc=_mean(keywords),
        jump_question_acc=balanced_accuracy([(p > 0.5, t) for p, t in jump_answers]),
        presence_question_acc=balanced_accuracy([(p > 0.5, t) for p, t in presence_answers]),
        jump_question_auc=roc_auc(*zip(*jump_answers)) if jump_answers else 0.5,
        presence_question_auc=roc_auc(*zip(*presence_answers)) if presence_answers else 0.5,
        grounded_presence_auc=roc_auc(*zip(*presence_grounded)) if presence_grounded else 0.5,
        grounded_jump_auc=roc_auc(*zip(*jump_grounded)) if jump_grounded else 0.5,
        events=total_events,
        event_recall=found / total_events if total_events else 0.0,
        event_precision=matched_moments / returned if returned else 0.0,
    )


class GroundedAnswer(BaseModel):
    """One question about a clip answered by grounding (agent/query/grounded_check.py), next to the truth."""

    subject: str
    of_object: bool  # an object of the world, not one of `absent_subjects`
    present: bool
    jumps: bool
    p_yes: float
    seen_share: float
    agreement: float
    jumped: bool = False  # whether the subject's track shows a jump by the event rules (tools/track_events.py)


def absent_subjects(world: World) -> list[str]:
    """Two names no object of the world has, the same for a world every time: the "no" presence questions."""
    rng = np.random.default_rng(world.seed)
    return [f"the {name}" for name in rng.choice(absent_names(world), size=2, replace=False)]


def grounded_answers(engine: Sa2VA, world: World, sample_fps: float | None = None) -> list[GroundedAnswer]:
    """Is each object of the world, and each of `absent_subjects`, in the world's clip, and does it jump, answered
    by grounding on every frame prompted (`sample_fps`: the clip's frames at that rate; None: every frame)."""
    from agent.query.grounded_check import grounded_check
    from index.embedder import default_embedder
    from tools.clip import Clip
    from tools.track_events import masklet_events
    from tools.video_decode import DecodedFrame

    fps, duration = world.config.fps, world.config.duration_s
    step = max(1, round(fps / sample_fps)) if sample_fps else 1
    clip = Clip(video_path=f"world_{world.seed}", start_s=0.0, end_s=duration,
                frames=[DecodedFrame(time_s=i / fps, index=j, image=world.frame(i))
                        for j, i in enumerate(range(0, world.n_frames, step))])
    visible = visible_objects(world, 0.0, duration)
    asked = [(object_phrase(o), True, o.object_id in visible,
              any(happens_in(e.start_s, e.end_s, 0.0, duration) for e in world.events_of(o.object_id, "jump")))
             for o in world.objects]
    asked += [(subject, False, False, False) for subject in absent_subjects(world)]
    masklets = engine.track(clip.images(), [a[0] for a in asked], prompt_every_frame=True, frame_times=clip.times())
    answers = []
    for (subject, of_object, present, jumps), masklet in zip(asked, masklets):
        check = grounded_check(engine, clip, masklet, subject, default_embedder())
        jumped = any(e.kind == "jump" for e in masklet_events(masklet, clip.times()))
        answers.append(GroundedAnswer(subject=subject, of_object=of_object, present=present, jumps=jumps,
                                      p_yes=check.p_yes,
                                      seen_share=check.seen_share, agreement=check.agreement, jumped=jumped))
    return answers


def _mean(values: list[float]) -> float:
    """0 for no values: an evaluation of event queries alone (n_worlds=0) has no mask scores."""
    return float(np.mean(values)) if values else 0.0
