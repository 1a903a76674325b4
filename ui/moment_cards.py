"""Moments drawn as a grid of cards: a thumbnail with the object's mask, the video, time range, score, and a
button that opens the moment in the player."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from index.reader import IndexReader
from index.summaries import VideoSummary
from tools.moment import Moment
from ui.clock import span
from ui.media import servable
from ui.overlay_cache import frame_thumbnail
from ui.user_errors import DashboardError, describe, shown_as_error

COLUMNS = 3


def object_ids(moment: Moment) -> list[int]:
    return sorted({e.object_id for e in moment.evidence if e.object_id is not None})


def thumbnail_time(moment: Moment) -> float:
    """The middle track point of the first evidence that has one (the object is on that frame), else the
    moment's start, seconds."""
    for evidence in moment.evidence:
        if evidence.object_id is not None and evidence.track_times:
            times = sorted(evidence.track_times)
            return times[len(times) // 2]
    return moment.start_s


def is_verified(moment: Moment) -> bool:
    return any(e.verified for e in moment.evidence)


def what_was_seen(moment: Moment) -> str:
    for evidence in moment.evidence:
        if evidence.phrase:
            return evidence.phrase
    for evidence in moment.evidence:
        if evidence.caption:
            return evidence.caption
    return ""


def how_it_was_found(moment: Moment) -> str:
    """The rule behind the moment, as `sva query` prints it: the event and its rule ("jump: box top 28% of frame
    height ..."), or what grounding saw ("grounded: the subject's mask on 100% of frames, named ..."); "" if none."""
    for evidence in moment.evidence:
        if evidence.rule:
            return f"{evidence.event}: {evidence.rule}" if evidence.event else evidence.rule
    return ""


def moment_card(moment: Moment, videos: dict[str, VideoSummary], reader: IndexReader, cache_dir: Path,
                key: str, on_open: Callable[[Moment], None]) -> None:
    with st.container(border=True):
        summary = videos.get(moment.video_path)
        name = Path(moment.video_path).name
        if summary is None:
            st.caption(describe(DashboardError(f"{name} is not in the index")))
        else:
            with shown_as_error():
                picture = frame_thumbnail(reader, servable(summary), thumbnail_time(moment), object_ids(moment),
                                          cache_dir)
                st.image(str(picture), width="stretch")
        badge = " · :green-badge[verified]" if is_verified(moment) else ""
        st.markdown(f"**{name}** · {span(moment.start_s, moment.end_s)}  \nscore {moment.score:.2f}{badge}")
        seen = what_was_seen(moment)
        if seen:
            st.caption(seen[:160])
        why = how_it_was_found(moment)
        if why:
            st.caption(why[:240], help=why)
        st.button("Play", key=key, icon=":material/play_arrow:", on_click=on_open, args=(moment,),
                  disabled=summary is None, width="stretch")


def moment_grid(moments: Sequence[Moment], reader: IndexReader, cache_dir: Path, key_prefix: str,
                on_open: Callable[[Moment], None]) -> None:
    videos = {v.path: v for v in reader.library()}
    for row in range(0, len(moments), COLUMNS):
        columns = st.columns(COLUMNS)
        for offset, moment in enumerate(moments[row : row + COLUMNS]):
            with columns[offset]:
                moment_card(moment, videos, reader, cache_dir, f"{key_prefix}-{row + offset}", on_open)
