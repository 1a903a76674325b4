"""Engine benchmark: `python bench/engine.py` (CPU, a small random-weight config, one run).

`python bench/engine.py --size real --device cuda` runs the same figures on a GPU with a random-weight
checkpoint of the real Sa2VA-Qwen3-VL-4B size (bench/real_size.py) and 1280x720 frames; its memory
figure is the CUDA allocator's peak instead of the process RSS.

Prints three figures, each a ratio of two timings or memory peaks measured in this same run:
  1. track() with K=8 expressions vs K=1 on the same frames        (goal <= 2.0x); on the default
     clip (6 frames, the first five are key frames) and on a chunk as the indexer tracks it (12
     frames, five key frames spread over it, the rest carried by SAM-2's memory; and the same chunk
     with the `[SEG]` prompting every frame, no memory, as the demo indexes)
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
    from sa2va_engine.testing.tiny_checkpoint import write_tiny_checkpoint

    # SAM-2 hiera-T-sized trunk at 512 px with the official memory attention (4 layers, d=256); a
    # 4-layer 256-wide LLM; 64 LLM tokens per image.
    sam2 = Sam2Config(image_size=512, embed_dim=96, num_heads=1, stages=(1, 2, 7, 2), global_att_blocks=(5, 7, 9),
                      window_spec=(8, 4, 14, 7), window_pos_embed_bkg_spatial_size=(7, 7))
    return write_tiny_checkpoint(directory, "qwen3_vl", seed=0, sam2=sam2, hidden_size=256, layers=4, image_tokens=(64, 64))


def frames(count: int, long_side: int = 640, video: Path = VIDEO):
    """Real frames of the dog clip, looped, decoded one at a time (never all in memory)."""
    import cv2

    produced = 0
    while produced < count:
        capture = cv2.VideoCapture(str(video))
        before = produced
        while produced < count:
            ok, bgr = capture.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            if long_side != max(h, w):
                scale = long_side / max(h, w)
                bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            produced += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        capture.release()
        if produced == before:  # looping a file that gives no frame would never end
            raise SystemExit(f"bench/engine.py: {video}: no frames could be decoded")


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, repeat: int = 3, warm_up: bool = True) -> float:
    if warm_up:
        fn()
    best = float("inf")
    for _ in range(repeat):
        _sync()
        start = time.perf_counter()
        fn()
        _sync()
        best = min(best, time.perf_counter() - start)
    return best


def bench_k(engine, clip: list, key_frames: list[int] | None = None, repeat: int = 2, warm_up: bool = True,
            prompt_every_frame: bool = False) -> dict:
    def run(expressions):
        return lambda: engine.track(clip, expressions, key_frames=key_frames, prompt_every_frame=prompt_every_frame)

    one = timed(run(["the dog"]), repeat, warm_up)
    eight = timed(run([f"the dog number {i}" for i in range(8)]), repeat, warm_up)
    return {"frames": len(clip), "key_frames": key_frames, "prompt_every_frame": prompt_every_frame,
            "k1_s": one, "k8_s": eight, "ratio": eight / one}


def stage_times(engine, clip, expressions) -> dict:
    """Seconds of one track() spent in each stage (synchronised timers around the engine's parts)."""
    import collections

    from sa2va_engine import sa2va as sa2va_module
    from sa2va_engine.sam2_tracker import StreamingTracker

    spent: dict = collections.defaultdict(float)
    patched = [(StreamingTracker, "encode", "sam2_encode"), (StreamingTracker, "step", "sam2_step"),
               (sa2va_module, "track_points", "mask_encoding"), (engine, "_forced_states", "llm")]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]

    def timer(fn, label):
        def run(*args, **kwargs):
            _sync()
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            _sync()
            spent[label] += time.perf_counter() - start
            return out
        return run

    try:
        for (owner, name, label), (_, _, fn) in zip(patched, originals):
            setattr(owner, name, timer(fn, label))
        _sync()
        start = time.perf_counter()
        masklets = engine.track(clip, expressions)
        _sync()
        spent["total"] = time.perf_counter() - start
    finally:
        for owner, name, fn in originals:
            if owner is engine:
                delattr(engine, name)
            else:
                setattr(owner, name, fn)
    points = [p for m in masklets for p in m.points if p.present]
    spent["rle_chars_per_mask"] = sum(len(p.mask.counts) for p in points) / max(1, len(points))
    return dict(spent)


def _blobs(k: int, h: int, w: int, device) -> "torch.Tensor":
    """(k, 1, h, w) logits of k object-shaped masks (discs of different sizes and places)."""
    import torch

    yy, xx = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij")
    r = min(h, w)
    discs = [0.15 * r + 0.01 * r * i - ((yy - h * (0.3 + 0.05 * i)) ** 2 + (xx - w * (0.3 + 0.05 * i)) ** 2).sqrt() for i in range(k)]
    return torch.stack(discs)[:, None].to(device)


def with_object_masks(engine, clip: list) -> dict:
    """K=8 vs K=1 with SAM-2's output turned into present, object-shaped masks before they are encoded.

    Random weights give pixel-noise masks (or absent objects), whose run-length encoding costs what a
    trained model's masks never do; this stands in for a trained model's output at that one stage."""
    from sa2va_engine import sa2va as sa2va_module

    original = sa2va_module.track_points

    def object_points(time_s, logits, scores, height, width):
        blobs = _blobs(logits.shape[0], logits.shape[-2], logits.shape[-1], logits.device)
        return original(time_s, blobs, scores.new_ones(scores.shape), height, width)

    sa2va_module.track_points = object_points
    try:
        return bench_k(engine, clip)
    finally:
        sa2va_module.track_points = original


def mask_encoding_cost(device: str, height: int, width: int, k: int = 8) -> dict:
    """Seconds to turn K masks' logits into track points: random-weight (pixel-noise) masks vs
    object-shaped ones, which a trained model gives and random weights cannot."""
    import torch

    from sa2va_engine.mask_encoding import track_points

    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(k, 1, 256, 256, generator=gen).to(device)
    blobs = _blobs(k, 256, 256, device)
    scores = torch.ones(k, device=device)
    return {name: timed(lambda lg=logits: track_points(0.0, lg, scores, height, width), repeat=5)
            for name, logits in (("noise_s", noise), ("object_s", blobs))}


def bench_forced(engine, image=None) -> dict:
    import torch

    from sa2va_engine import prompts
    from sa2va_engine.sa2va import _llm_images

    image = next(frames(1)) if image is None else image
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
    prompt_tokens = engine.family.encode(engine.processor, images, question).inputs["input_ids"].shape[1]
    return {"answer_tokens": n, "prompt_tokens": prompt_tokens, "forced_s": t_forced, "generated_s": t_gen, "speedup": t_gen / t_forced,
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


def cuda_peak(engine, n_frames: int, long_side: int, video: Path) -> int:
    """Peak CUDA memory allocated while track() streams n frames, in bytes (weights included)."""
    import torch

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    masklets = engine.track(frames(n_frames, long_side, video), ["the dog", "the grass"])
    assert len(masklets[0].points) == n_frames
    return torch.cuda.max_memory_allocated()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("small", "real"), default="small",
                        help="small: CPU-sized random config; real: Sa2VA-Qwen3-VL-4B shapes (for a GPU)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--llm-layers", type=int, default=None, help="cut the real-size LLM's depth (code-path check only)")
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--frames", type=int, default=6, help="frames for the K=1 vs K=8 timing")
    parser.add_argument("--memory-frames", type=int, default=10, help="N for the N vs 10N memory figure")
    parser.add_argument("--chunk-frames", type=int, default=12,
                        help="frames of the chunk timed as the indexer tracks it (5 key frames spread over it); 0 skips")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()

    import torch

    from sa2va_engine.key_frames import key_frame_indices
    from sa2va_engine.sa2va import Sa2VA

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"bench/engine.py: --device {args.device}, but this torch sees no CUDA GPU")
    torch.manual_seed(0)
    real = args.size == "real"
    long_side = 1280 if real else 640
    results: dict = {"size": args.size, "device": args.device, "threads": torch.get_num_threads()}
    if args.device.startswith("cuda"):
        import transformers

        results.update(gpu=torch.cuda.get_device_name(), torch=torch.__version__, transformers=transformers.__version__)
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        if real:
            from bench.real_size import parameter_count, write_real_size_checkpoint

            ckpt = write_real_size_checkpoint(Path(tmp) / "real", device=args.device, llm_layers=args.llm_layers)
            results["parameters"] = parameter_count(ckpt)
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()
        else:
            ckpt = small_checkpoint(Path(tmp) / "small")
        results["write_s"] = time.perf_counter() - began
        began = time.perf_counter()
        engine = Sa2VA.from_pretrained(ckpt, device=args.device)
        _sync()
        results["load_s"] = time.perf_counter() - began
        clip = list(frames(args.frames, long_side, args.video))
        results["frame_size"] = list(clip[0].shape[:2])
        results["track_k8_vs_k1"] = bench_k(engine, clip)
        if real:
            results["track_k8_vs_k1_object_masks"] = with_object_masks(engine, clip)
        if args.chunk_frames:
            # As the indexer tracks a chunk: key frames spread over it, so most frames are carried by
            # SAM-2's memory, whose attention is per-object work. Already warm: one timing each.
            chunk = list(frames(args.chunk_frames, long_side, args.video))
            results["chunk_k8_vs_k1"] = bench_k(engine, chunk, key_frame_indices(len(chunk)), repeat=1, warm_up=False)
            # The same chunk with the [SEG] prompting every frame (what the demo indexes with): no memory
            # attention, so per-object work is only SAM-2's decoder.
            results["chunk_k8_vs_k1_every_frame"] = bench_k(engine, chunk, key_frame_indices(len(chunk)), repeat=1,
                                                            warm_up=False, prompt_every_frame=True)
        results["stages_k1"] = stage_times(engine, clip, ["the dog"])
        results["stages_k8"] = stage_times(engine, clip, [f"the dog number {i}" for i in range(8)])
        results["mask_encoding_k8"] = mask_encoding_cost(args.device, *results["frame_size"])
        results["forced_vs_generated"] = bench_forced(engine, clip[0])
        small, large = args.memory_frames, args.memory_frames * 10
        if args.device.startswith("cuda"):
            peak_small = cuda_peak(engine, small, long_side, args.video)
            peak_large = cuda_peak(engine, large, long_side, args.video)
            what = "cuda_peak"
        else:
            peak_small, peak_large = child_peak_rss(ckpt, small), child_peak_rss(ckpt, large)
            what = "rss"
        results["peak_memory"] = {"what": what, "frames_small": small, "frames_large": large,
                                  "small_mb": peak_small / 2**20, "large_mb": peak_large / 2**20,
                                  "ratio": peak_large / peak_small}
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    k, f, m = results["track_k8_vs_k1"], results["forced_vs_generated"], results["peak_memory"]
    print(f"{args.size} config on {results.get('gpu', args.device)}: written in {results['write_s']:.1f}s, "
          f"loaded in {results['load_s']:.1f}s")
    print(f"track, {k['frames']} frames {results['frame_size'][1]}x{results['frame_size'][0]}: K=1 {k['k1_s']:.2f}s, "
          f"K=8 {k['k8_s']:.2f}s -> K8/K1 = {k['ratio']:.2f}x (goal <= 2.0x)")
    if "track_k8_vs_k1_object_masks" in results:
        o = results["track_k8_vs_k1_object_masks"]
        print(f"  with object-shaped masks encoded in place of the random weights' noise: K=1 {o['k1_s']:.2f}s, "
              f"K=8 {o['k8_s']:.2f}s -> {o['ratio']:.2f}x")
    if "chunk_k8_vs_k1" in results:
        c = results["chunk_k8_vs_k1"]
        print(f"  a chunk as the indexer tracks it, {c['frames']} frames, key frames {c['key_frames']}: K=1 {c['k1_s']:.2f}s, "
              f"K=8 {c['k8_s']:.2f}s -> {c['ratio']:.2f}x")
        e = results["chunk_k8_vs_k1_every_frame"]
        print(f"  the same chunk with the [SEG] prompting every frame (no memory): K=1 {e['k1_s']:.2f}s, "
              f"K=8 {e['k8_s']:.2f}s -> {e['ratio']:.2f}x")
    for name in ("stages_k1", "stages_k8"):
        st = results[name]
        print(f"  {name}: total {st['total']:.2f}s = LLM {st.get('llm', 0):.2f} + SAM-2 encode {st.get('sam2_encode', 0):.2f} "
              f"+ SAM-2 step {st.get('sam2_step', 0):.2f} + mask encoding {st.get('mask_encoding', 0):.2f} "
              f"(+ rest); {st['rle_chars_per_mask']:.0f} RLE chars per mask")
    me = results["mask_encoding_k8"]
    print(f"  mask encoding of 8 masks, one frame: pixel-noise masks {me['noise_s'] * 1000:.1f} ms, "
          f"object-shaped masks {me['object_s'] * 1000:.1f} ms")
    print(f"segment ({f['prompt_tokens']} prompt tokens): forced {f['forced_s'] * 1000:.0f} ms, generated "
          f"({f['answer_tokens']} tokens) {f['generated_s'] * 1000:.0f} ms -> forced is {f['speedup']:.2f}x faster "
          f"end to end (goal >= 3x)")
    print(f"  LLM part only: forced {f['llm_forced_s'] * 1000:.0f} ms, generated {f['llm_generated_s'] * 1000:.0f} ms "
          f"-> {f['llm_speedup']:.2f}x")
    print(f"peak memory ({m['what']}): {m['frames_small']} frames {m['small_mb']:.0f} MB, {m['frames_large']} frames "
          f"{m['large_mb']:.0f} MB -> ratio {m['ratio']:.2f} (goal: flat)")


if __name__ == "__main__":
    main()
