"""Starting `sva index` from the dashboard: a detached background process, never work inside a script
run. It writes through the index's short transactions like any other indexer, so the pages keep reading
while it runs, and it outlives the browser tab (and the dashboard) that started it.

The launches this server made are kept in one registry so their exit can be collected (no zombies) and
shown on the Jobs page; the index's `jobs` table remains the record of what ran.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import unicodedata
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ui.user_errors import DashboardError


# The longest "also track" phrase accepted, in characters: a referring expression, not a paragraph.
MAX_WATCH_CHARS = 200


def _checked_watch(phrase: str) -> str:
    """A phrase for `--watch`, its whitespace runs one space. It becomes one argv item of `sva index` (no
    shell, so no quoting matters), but a NUL cannot be one and nothing typed needs another control character."""
    phrase = " ".join(phrase.split())
    if len(phrase) > MAX_WATCH_CHARS:
        raise DashboardError(f"a phrase to track is {len(phrase):,} characters long, over the limit of "
                             f"{MAX_WATCH_CHARS}; name the thing in a few words")
    for char in phrase:
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise DashboardError(f"the phrase to track {phrase[:60]!r} has a control character "
                                 f"(U+{ord(char):04X}); remove it")
    return phrase


class IndexerLaunch(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    pid: int
    folder: str
    command: list[str]
    log_path: Path
    started_at: datetime
    process: subprocess.Popen = Field(exclude=True)

    def returncode(self) -> int | None:
        """None while it runs; its exit code after (0 ok, 1 partial, 2 input error)."""
        return self.process.poll()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class IndexerLaunches:
    """Every indexer this dashboard process started, newest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._launches: list[IndexerLaunch] = []

    def all(self) -> list[IndexerLaunch]:
        with self._lock:
            return list(self._launches)

    def running(self) -> list[IndexerLaunch]:
        return [launch for launch in self.all() if launch.returncode() is None]

    def start(self, folder: str, db: Path, log_dir: Path, model: str | None = None,
              watch: list[str] | None = None) -> IndexerLaunch:
        """Run `sva index FOLDER --db DB [--model M] [--watch W]...` detached, output to a log file in
        ``log_dir``. The folder must be an existing directory (checked here so the user hears at once)."""
        if not folder.strip():
            raise DashboardError("give a folder to index")
        try:
            target = Path(folder.strip()).expanduser()
        except RuntimeError:  # "~name/..." for a user this machine does not have
            raise DashboardError(f"{folder.strip()[:200]!r}: no such user's home folder") from None
        if not target.is_dir():  # also False for a path with a NUL in it
            raise DashboardError(f"{target} is not a folder")
        phrases = [_checked_watch(phrase) for phrase in watch or [] if phrase.strip()]
        # The program and every option but the folder and the phrases are the operator's (`sva ui --db/--model`);
        # the folder is absolute, so it cannot be read as an option.
        target = target.resolve()
        command = [sys.executable, "-m", "agent.cli", "index", str(target), "--db", str(db)]
        if model:
            command += ["--model", model]
        for phrase in phrases:
            command += ["--watch", phrase]
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"index-{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**6}.log"
        with open(log_path, "ab") as log:
            # A new session: the indexer is not in the dashboard's process group, so stopping the
            # dashboard (Ctrl-C) does not stop indexing half-way.
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True,
            )
        launch = IndexerLaunch(pid=process.pid, folder=str(target), command=command, log_path=log_path,
                               started_at=datetime.now(), process=process)
        with self._lock:
            self._launches.insert(0, launch)
        return launch
