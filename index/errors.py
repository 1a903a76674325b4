"""Errors a user of the index can cause (wrong path, busy file, too-new file). Each is one line and maps to exit
code 2 through `UserError`; programming mistakes (bad arguments from the agent) stay plain `ValueError`."""

from __future__ import annotations

from sa2va_engine.user_error import UserError


class IndexError_(UserError):
    """Base of the index's user errors (the trailing underscore keeps clear of the builtin `IndexError`)."""


class IndexNotFound(IndexError_):
    pass


class IndexBusy(IndexError_):
    """Another process held the DuckDB file for longer than the caller was willing to wait."""


class IndexTooNew(IndexError_):
    """The file was written by a newer sva whose schema this one does not understand."""


class IndexOutdated(IndexError_):
    """The file has an older schema and could not be migrated (for example it is on a read-only disk)."""


class IndexCorrupt(IndexError_):
    """The file is not a readable DuckDB database any more (truncated, overwritten, a checksum that fails)."""


class IndexDiskFull(IndexError_):
    """A write to the index failed for lack of space (disk full, quota, file-size limit). The transaction it was
    part of left nothing behind, so the file is as it was before; the run stops (every later write would fail
    the same way) and resumes when run again with space."""


class BackupUnusable(IndexError_):
    """A backup cannot be written or restored: the file is missing, damaged, not an sva index, or would be
    written over."""


class VideoNotIndexed(IndexError_):
    pass


class VideoUnreadable(IndexError_):
    """The video file named for indexing cannot be read (missing, permissions)."""
