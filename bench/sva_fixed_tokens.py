"""`sva` with every generated answer run to its token cap: for benchmarks on random weights, which would end an
answer at any token (or never), so that a run's cost does not depend on what the weights happen to say.

    python -m bench.sva_fixed_tokens index VIDEO --model DIR ...     # the real `sva` CLI, one change

The change: each `generate` call gets ``min_new_tokens = max_new_tokens`` (the end token is masked until the cap),
for one prompt and for batched prompts alike. Used by `bench.index_throughput --size real|tiny`; never by the
product. The run's report then shows tokens per chunk = the caps (128 per caption and grounded caption, 48 per
description at the index defaults).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def fix_token_counts() -> None:
    from transformers.generation.utils import GenerationMixin

    generate = GenerationMixin.generate

    @functools.wraps(generate)
    def to_the_cap(self, *args, **kwargs):
        if kwargs.get("max_new_tokens"):
            kwargs["min_new_tokens"] = kwargs["max_new_tokens"]
        return generate(self, *args, **kwargs)

    GenerationMixin.generate = to_the_cap


if __name__ == "__main__":
    fix_token_counts()
    from agent.cli.main import main

    sys.argv[0] = "sva"
    main()
