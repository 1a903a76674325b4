"""Engine benchmark: `python bench/engine.py` (CPU, a small random-weight config, one run).

Prints three figures, each a ratio of two timings or memory peaks measured in this same run:
  1. track() with K=8 expressions vs K=1 on the same frames        (goal <= 2.0x)
  2. segment() teacher-forced "Sure, [SEG]." vs generated answer  (goal >= 3x faster)
  3. peak RSS of track() over N vs 10N streamed frames             (goal: flat, ratio ~1.0)
Random weights never emit `[SEG]` on their own, so the generated path is timed with a fixed answer
length (the token count of "Sure, [SEG]." plus end-of-turn in the checkpoint's tokenizer), followed by
the same SAM-2 work as the forced path.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

VIDEO = REPO.parent / "shared" / "videos" / "01_dog.mp4"


def small_checkpoint(directory: Path) -> Path:
    from sa2va_engine.sam2_config import Sam2Config
    from sa2va_engine.testing import write_tiny_checkpoint

    # SAM-2 hiera-T-sized trunk at 512 px with the official memory attention (4 layers, d=256); a
    # 4-layer 256-wide LLM; 64 LLM tokens per image.
    sam2 = Sam2Config(image_size=512, embed_dim=96, num_heads=1, stages=(1, 2, 7, 2), global_att_blocks=(5, 7, 9),
                      window_spec=(8, 4, 14, 7), window_pos_embed_bkg_spatial_size=(7, 7))
    return write_tiny_checkpoint(directory, "qwen3_vl", seed=0, sam2=sam2, hidden_size=256, layers=4, image_tokens=(64, 64))


def frames(count: int, long_side: int = 640):
    """Real frames of the dog clip, looped, decoded one at a time (never all in memory)."""
    import cv2

    produced = 0
    while produced < count:
        capture = cv2.VideoCapture(str(VIDEO))
        while produced < count:
            ok, bgr = capture.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            scale = long_side / max(h, w)
            bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            produced += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        capture.release()


def timed(fn, repeat: int = 3) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_k(engine, n_frames: int) -> dict:
    clip = list(frames(n_frames))
    one = timed(lambda: engine.track(clip, ["the dog"]), repeat=2)
    eight = timed(lambda: engine.track(clip, [f"the dog number {i}" for i in range(8)]), repeat=2)
    return {"frames": n_frames, "k1_s": one, "k8_s": eight, "ratio": eight / one}


def bench_forced(engine) -> dict:
    import torch

    from sa2va_engine import prompts
    from sa2va_engine.sa2va import _llm_images

    image = next(frames(1))
    images = _llm_images([image])
    question = prompts.referring_prompt("the dog")
    tok = engine.family.tokenizer(engine.processor)
    n = len(tok(prompts.FORCED_ANSWER + tok.eos_token, add_special_tokens=False)["input_ids"])

    def generate_answer():
        # min_new_tokens pins the length: random weights would otherwise stop anywhere.
        return engine._generate(images, question, None, max_new_tokens=n, min_new_tokens=n)

    def generated():
        generate_answer()
        # Then the same SAM-2 work as the forced path, from one [SEG]-sized state.
        state = torch.zeros(1, engine.model.text_hidden_fcs[0].in_features)
        engine._propagate([image], engine._prompt_tokens(state))

    assert len(generate_answer().token_ids) == n
    t_gen = timed(generated)
    t_forced = timed(lambda: engine.segment(image, "the dog", mode="forced"))
    # The LLM part alone: one teacher-forced pass vs generating the same answer token by token.
    t_llm_forced = timed(lambda: engine._forced_states([image], ["the dog"]))
    t_llm_gen = timed(generate_answer)
    return {"answer_tokens": n, "forced_s": t_forced, "generated_s": t_gen, "speedup": t_gen / t_forced,
            "llm_forced_s": t_llm_forced, "llm_generated_s": t_llm_gen, "llm_speedup": t_llm_gen / t_llm_forced}


def child_peak_rss(checkpoint: Path, n_frames: int) -> int:
    """Run track() over n streamed frames in a fresh process; return its peak RSS in bytes."""
    code = (
        "import sys, resource; sys.path.insert(0, %r); from bench.engine import frames;"
        "from sa2va_engine.sa2va import Sa2VA; e = Sa2VA.from_pretrained(%r);"
        "m = e.track(frames(%d), ['the dog', 'the grass']); assert len(m[0].points) == %d;"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    ) % (str(REPO), str(checkpoint), n_frames, n_frames)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO)
    return int(out.stdout.strip().splitlines()[-1]) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6, help="frames for the K=1 vs K=8 timing")
    parser.add_argument("--memory-frames", type=int, default=10, help="N for the N vs 10N memory figure")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from sa2va_engine.sa2va import Sa2VA

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = small_checkpoint(Path(tmp) / "small")
        engine = Sa2VA.from_pretrained(ckpt, device="cpu")
        results = {
            "threads": torch.get_num_threads(),
            "track_k8_vs_k1": bench_k(engine, args.frames),
            "forced_vs_generated": bench_forced(engine),
        }
        small, large = args.memory_frames, args.memory_frames * 10
        rss_small, rss_large = child_peak_rss(ckpt, small), child_peak_rss(ckpt, large)
        results["peak_rss"] = {"frames_small": small, "frames_large": large, "rss_small_mb": rss_small / 2**20,
                               "rss_large_mb": rss_large / 2**20, "ratio": rss_large / rss_small}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    k, f, m = results["track_k8_vs_k1"], results["forced_vs_generated"], results["peak_rss"]
    print(f"track, {k['frames']} frames: K=1 {k['k1_s']:.2f}s, K=8 {k['k8_s']:.2f}s -> K8/K1 = {k['ratio']:.2f}x (goal <= 2.0x)")
    print(f"segment: forced {f['forced_s'] * 1000:.0f} ms, generated ({f['answer_tokens']} tokens) "
          f"{f['generated_s'] * 1000:.0f} ms -> forced is {f['speedup']:.2f}x faster end to end (goal >= 3x)")
    print(f"  LLM part only: forced {f['llm_forced_s'] * 1000:.0f} ms, generated {f['llm_generated_s'] * 1000:.0f} ms "
          f"-> {f['llm_speedup']:.2f}x")
    print(f"peak RSS: {m['frames_small']} frames {m['rss_small_mb']:.0f} MB, {m['frames_large']} frames "
          f"{m['rss_large_mb']:.0f} MB -> ratio {m['ratio']:.2f} (goal: flat)")


if __name__ == "__main__":
    main()
