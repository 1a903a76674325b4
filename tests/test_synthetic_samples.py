"""The training sampler's yes/no questions: answers drawn first (balanced), and each jump answer agrees with
both the event rule and what the LLM's key frames show."""

from __future__ import annotations

from sa2va_engine import prompts
from sa2va_engine.synthetic.samples import SEEN_LIFT, VERIFY_TEMPLATE, SampleSource, happens_in, jump_label
from sa2va_engine.synthetic.world import WorldConfig, generate_world



def test_yes_and_no_are_balanced_for_jump_and_presence_questions():
    source = SampleSource(seed=3, n_worlds=40, weights={"yes_no": 1.0}, frames=(4, 16))
    samples = [source(i) for i in range(240)]
    assert all(s.task == "yes_no" and s.question.endswith(prompts.YES_NO_SUFFIX) for s in samples)
    jumps = [s for s in samples if s.question.startswith(VERIFY_TEMPLATE.split("{")[0])]
    presence = [s for s in samples if s.question.startswith("Is ")]
    assert len(jumps) + len(presence) == len(samples) and 0.45 < len(jumps) / len(samples) < 0.75
    for group in (jumps, presence):
        yes = sum(s.answer == "Yes" for s in group) / len(group)
        assert 0.4 < yes < 0.6, yes
    assert [s.question for s in samples[:20]] == [source(i).question for i in range(20)]  # deterministic


def test_jump_labels_are_what_the_key_frames_show():
    world = next(w for w in (generate_world(s, WorldConfig(duration_s=10.0)) for s in range(50))
                 if any(o.path.hops for o in w.objects))
    jumper = next(o for o in world.objects if o.path.hops)
    keys = [0, 2, 4, 6, 7]
    seen_any = {True: 0, False: 0, None: 0}
    for first in range(world.n_frames - 8 + 1):
        label = jump_label(world, jumper.object_id, first, 8, keys)
        seen_any[label] += 1
        start_s, end_s = world.time_s(first), world.time_s(first + 7) + 1 / world.config.fps
        lifted = max(h.lift(world.time_s(first + k)) / h.apex_px for h in jumper.path.hops for k in keys)
        happens = any(happens_in(h.start_s, h.end_s, start_s, end_s) for h in jumper.path.hops)
        if label is True:
            assert happens and lifted >= SEEN_LIFT
        elif label is False:
            assert not happens and lifted < SEEN_LIFT
        else:
            assert happens != (lifted >= SEEN_LIFT)
    assert seen_any[True] and seen_any[False]
    # An object that never hops is a clear "no" everywhere.
    still = [o for o in world.objects if not o.path.hops]
    for obj in still:
        assert all(jump_label(world, obj.object_id, f, 8, keys) is False for f in range(world.n_frames - 7))


def test_mixed_source_draws_from_every_source_deterministically():
    from sa2va_engine.synthetic.demo_recipe import EASY_WORLDS
    from sa2va_engine.synthetic.samples import MixedSource

    easy = SampleSource(seed=2, weights={"caption": 1.0}, config=EASY_WORLDS)
    real = SampleSource(seed=1, weights={"caption": 1.0})
    mixed = MixedSource([easy, real], seed=0)
    picks = [mixed(i).answer for i in range(40)]
    assert picks == [mixed(i).answer for i in range(40)]
    from_easy = sum(mixed(i).answer == easy(i).answer for i in range(40))
    assert 10 < from_easy < 30
    # Easy worlds: big objects on plain backgrounds.
    world = easy.world(0)
    assert all(o.height_px >= 0.4 * world.config.height - 1 for o in world.objects)
    assert world.background.kind == "plain"
