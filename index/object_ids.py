"""Object ids are derived, not drawn from a sequence, so a resumed run and an uninterrupted run give every
object the same id whatever order videos were indexed in:

    object_id = video_id * 10**12 + chunk_index * 10**4 + ordinal

where (chunk_index, ordinal) name the chunk and phrase that first saw the object. Decimal packing keeps ids
readable (1_00000012_0003: video 1, chunk 12, phrase 3). Limits: video_id < 9_223_372, chunk_index < 10**8
(31 years of 10 s chunks), ordinal < 10**4. Ids above 2**53 (video_id >= 9008) lose precision in JavaScript
numbers; export them as strings for web clients.
"""

from __future__ import annotations

_VIDEO = 10**12
_CHUNK = 10**4
_MAX_VIDEO = (2**63 - 1) // _VIDEO


def new_object_id(video_id: int, chunk_index: int, ordinal: int) -> int:
    if not (1 <= video_id <= _MAX_VIDEO and 0 <= chunk_index < _VIDEO // _CHUNK and 0 <= ordinal < _CHUNK):
        raise ValueError(f"object id out of range for video {video_id}, chunk {chunk_index}, phrase {ordinal}")
    return video_id * _VIDEO + chunk_index * _CHUNK + ordinal


def split_object_id(object_id: int) -> tuple[int, int, int]:
    """(video_id, chunk_index, ordinal) of the chunk and phrase that first saw the object."""
    video_id, rest = divmod(object_id, _VIDEO)
    chunk_index, ordinal = divmod(rest, _CHUNK)
    return video_id, chunk_index, ordinal
