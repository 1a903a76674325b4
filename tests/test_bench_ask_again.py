"""`python -m bench.every_moment --ask-again`: refused in one line without an earlier run's index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ask_again_without_an_earlier_index_is_refused_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench.every_moment", "--ask-again", "--workdir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(tmp_path) in lines[0] and "earlier run" in lines[0]
