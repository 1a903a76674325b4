"""Linking and committing chunks behind the analysis: one background thread takes each chunk's link and commit,
in chunk order, while the graph goes on to decode and analyse the next chunks.

Why: on a commit the writer embeds the chunk's texts and runs one transaction on a connection of its own (opened
and checkpointed per write, so other processes can read between commits), about a tenth of a second a chunk on
CPU that the model otherwise waits for. None of it needs the model, so it can run beside it.

Order is what keeps the rows the same as committing in turn: a chunk's link reads the previous chunk's stored
tracks, and jobs run one at a time in the order they were given, so each link finds the previous commit done.
At most `depth` jobs wait; giving one more waits for the oldest, so memory stays flat. A job is responsible for
its own chunk's failure (it records it, as the graph's fail node would); an error that escapes a job (one that
would fail every chunk alike, such as a full disk) stops the jobs after it and is raised in the graph's thread
at every `submit` or `drain` after it, until `close`. A kill -9 loses at most the chunks still waiting: each commit is all-or-nothing
and the next run redoes what is not committed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class CommitBehind:
    """Runs jobs in order on one background thread (`depth` > 0), or at once in the caller's thread (0). The
    thread starts with the first job and ends at `close` (a later job starts another)."""

    def __init__(self, depth: int):
        self.depth = depth
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future] = deque()
        self._error: BaseException | None = None
        self._stopped = False  # an error escaped a job: the jobs after it are skipped

    @property
    def behind(self) -> bool:
        return self.depth > 0

    def submit(self, job: Callable[[], None]) -> None:
        self._raise_error()
        if not self.behind:
            job()
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sva-commit-behind")
            self._stopped = False
        while len(self._pending) >= self.depth:
            self._settle(self._pending.popleft())
        self._raise_error()
        self._pending.append(self._pool.submit(self._run, job))

    def drain(self) -> None:
        """Wait for every job given so far; raise the first error that escaped one."""
        while self._pending:
            self._settle(self._pending.popleft())
        self._raise_error()

    def close(self) -> None:
        """Let the jobs given so far finish (what was analysed is kept), then stop the thread. Errors are not
        raised here (`drain` first to hear them): a caller leaving on an error of its own has that one to tell."""
        while self._pending:
            self._settle(self._pending.popleft())
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._error = None

    def _run(self, job: Callable[[], None]) -> None:
        if self._stopped:  # after an escaped error the state the later jobs build on is not there
            return
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - handed to the graph's thread
            self._stopped = True
            self._error = exc

    def _settle(self, future: Future) -> None:
        future.result()  # `_run` never raises: its error is kept for `_raise_error`

    def _raise_error(self) -> None:
        # Raised again at every call until `close`: the jobs after it were skipped, so nothing given later may
        # pass for done.
        if self._error is not None:
            raise self._error
