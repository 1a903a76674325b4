"""`sva finetune`: LoRA fine-tuning of a Sa2VA checkpoint on user-labelled data (format: tools/labelled_data.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli.app import app
from agent.cli.cli_errors import exit_on_user_error


@app.command("finetune")
def finetune(
    data: Annotated[Path, typer.Argument(help="labelled samples, JSON lines (see README: fine-tuning)", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="directory for the fine-tuned checkpoint (official layout)")],
    model: Annotated[Optional[str], typer.Option("--model", help="checkpoint to start from (default: $SVA_MODEL or the official default)")] = None,
    steps: Annotated[int, typer.Option(min=1, help="optimizer steps (samples are cycled)")] = 500,
    lr: Annotated[float, typer.Option(min=0.0, help="peak learning rate")] = 2e-4,
    lora_rank: Annotated[int, typer.Option(min=1, help="LoRA rank on the LLM's projections")] = 16,
    train_sam2: Annotated[bool, typer.Option("--train-sam2/--freeze-sam2", help="SAM-2 stays frozen by default, as in the paper")] = False,
    max_side: Annotated[int, typer.Option(min=32, help="long side of decoded frames, pixels")] = 1024,
    seed: Annotated[int, typer.Option(help="seed for the order of samples")] = 0,
) -> None:
    """Fine-tune: LoRA on the LLM, text_hidden_fcs trained, SAM-2 frozen; adapters merged before saving."""
    import random

    from sa2va_engine.training.train import LoraSettings, TrainConfig, train
    from tools.engine_session import load_engine
    from tools.labelled_data import read_labelled

    with exit_on_user_error():
        samples = list(read_labelled(data, max_side=max_side))
        if not samples:
            typer.echo(f"sva: {data}: no samples", err=True)
            raise typer.Exit(2)
        engine = load_engine(model)
        order = random.Random(seed)
        config = TrainConfig(steps=steps, lr=lr, warmup_steps=min(50, steps // 10), train_sam2=train_sam2, seed=seed,
                             lora=LoraSettings(rank=lora_rank, alpha=2 * lora_rank))
        report = train(engine, lambda step: samples[order.randrange(len(samples))], config,
                       log=lambda line: typer.echo(line, err=True))
        engine.save_pretrained(out, dtype=engine.dtype)
    typer.echo(f"wrote {out} after {report.steps} steps ({report.seconds:.0f} s); final loss {report.mean('total', 20):.3f}")
