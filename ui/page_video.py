"""Video: one indexed video's timeline (objects as rows, presence over time, their events marked), captions per
chunk, its objects with thumbnails, and a chat about a time range. The video is chosen by its id (`?video=ID` in the
address, or the picker), never by a path."""

from pathlib import Path

import pandas as pd
import streamlit as st

from agent.query.query_parse import checked_question
from index.reader import IndexReader
from index.summaries import VideoSummary
from sa2va_engine.user_error import UserError
from ui.clock import clock, span
from ui.access_gate import signed_in
from ui.dashboard_config import dashboard_config, index_reader
from ui.media import IndexedVideo, servable, video_by_id
from ui.overlay_cache import frame_thumbnail
from ui.timeline import chart_height, event_table, presence_table, timeline_chart
from ui.user_errors import DashboardError, describe, shown_as_error
from ui.video_chat import ChatTurn, ask

OBJECT_CARDS = 12
COLUMNS = 4

config = dashboard_config()
account = signed_in()  # also when a page runs alone (tests); app.py signs in first
state = st.session_state


def pick_video(videos: list[VideoSummary]) -> VideoSummary:
    by_id = {v.video_id: v for v in videos}
    wanted = st.query_params.get("video")
    indexed = [v for v in videos if v.status in ("done", "partial", "indexing")]
    chosen = (indexed or videos)[0].video_id
    if wanted is not None:
        try:
            chosen = video_by_id(index_reader(str(config.db)), wanted).video_id
        except DashboardError as exc:  # an id typed into the address: say what is wrong, show the first video
            st.error(describe(exc), icon=":material/error:")
    picked = st.selectbox("Video", list(by_id), index=list(by_id).index(chosen),
                          format_func=lambda vid: f"{Path(by_id[vid].path).name}  (id {vid})")
    if str(picked) != wanted:
        st.query_params["video"] = str(picked)
    return by_id[picked]


@st.cache_data(show_spinner=False, max_entries=64)
def presence(db: str, video_id: int, path: str, duration_s: float | None, content_hash: str | None,
             chunks_done: int, objects: int) -> pd.DataFrame:
    """Cached per state of the video (a new commit changes chunks_done), so moving the slider re-reads nothing."""
    return presence_table(index_reader(db), path, duration_s)


@st.cache_data(show_spinner=False, max_entries=64)
def events_on(db: str, video_id: int, path: str, duration_s: float | None, content_hash: str | None,
              chunks_done: int, objects: int) -> pd.DataFrame:
    """The stored events of the timeline's objects, cached as `presence` is."""
    return event_table(index_reader(db), presence(db, video_id, path, duration_s, content_hash, chunks_done, objects))


def timeline(video: VideoSummary, window: tuple[float, float]) -> None:
    key = (str(config.db), video.video_id, video.path, video.duration_s, video.content_hash, video.chunks_done,
           video.objects)
    table = presence(*key)
    if table.empty:
        st.caption("No tracked objects yet.")
        return
    st.altair_chart(timeline_chart(table, video.duration_s, marks=window, events=events_on(*key)), width="stretch",
                    height=chart_height(table))
    shown = table["object"].nunique()
    if shown < video.objects:
        st.caption(f"The {shown} objects with the most track points of {video.objects}.")


def captions(reader: IndexReader, video: VideoSummary) -> None:
    rows = [
        {"time": span(c.start_s, c.end_s), "status": c.status,
         "caption": c.caption if c.status == "done" else (c.error or "")}
        for c in reader.chunks(video.path)
    ]
    st.dataframe(pd.DataFrame(rows, columns=["time", "status", "caption"]), hide_index=True, width="stretch")


def objects(reader: IndexReader, video: VideoSummary, playable: IndexedVideo | None,
            window: tuple[float, float]) -> None:
    found = sorted(reader.objects(video.path, *window), key=lambda o: (-o.points, o.object_id))
    if not found:
        st.caption(f"No objects seen in {span(*window)}.")
        return
    st.caption(f"{len(found)} object(s) seen in {span(*window)}, most tracked first.")
    cards = found[:OBJECT_CARDS]
    for row in range(0, len(cards), COLUMNS):
        columns = st.columns(COLUMNS)
        for offset, obj in enumerate(cards[row : row + COLUMNS]):
            with columns[offset], st.container(border=True):
                if playable is not None:
                    points = reader.tracks(obj.object_id, *window) or reader.tracks(obj.object_id)
                    if points:
                        with shown_as_error():
                            picture = frame_thumbnail(reader, playable, points[len(points) // 2].time_s,
                                                      [obj.object_id], config.cache_dir)
                            st.image(str(picture), width="stretch")
                st.markdown(f"**{obj.label}**  \n{span(obj.first_seen_s or 0, obj.last_seen_s or 0)} · "
                            f"{obj.points} points")
                if obj.description:
                    st.caption(obj.description[:200])
    if len(found) > OBJECT_CARDS:
        rest = [{"object": o.label, "first seen": clock(o.first_seen_s), "last seen": clock(o.last_seen_s),
                 "points": o.points, "description": o.description or ""} for o in found[OBJECT_CARDS:]]
        st.dataframe(pd.DataFrame(rest), hide_index=True, width="stretch")


def chat(video: VideoSummary, playable: IndexedVideo | None, window: tuple[float, float]) -> None:
    turns: list[ChatTurn] = state.setdefault("video_chat", {}).setdefault(video.video_id, [])
    for turn in turns:
        st.chat_message("user").markdown(f"{turn.question}  \n:gray[{span(turn.start_s, turn.end_s)}]")
        st.chat_message("assistant").markdown(turn.answer)
    if playable is None:
        st.caption("Chat needs the video file, which is not where it was indexed.")
        return
    question = st.chat_input(f"Ask about {span(*window)}", key="video-chat-input")
    if question:
        accepted = None
        with shown_as_error():
            # The bound a search question has: a megabyte pasted here would otherwise become the model's prompt.
            accepted = checked_question(question)
        if accepted is not None:
            st.chat_message("user").markdown(f"{accepted}  \n:gray[{span(*window)}]")
            with st.chat_message("assistant"), shown_as_error(), st.spinner("Sa2VA is watching the clip…"):
                turn = ask(config.model, playable.path, window[0], window[1], accepted, turns)
                turns.append(turn)
                st.markdown(turn.answer)


def page() -> None:
    reader = index_reader(str(config.db))
    videos = reader.library()
    if not videos:
        st.info("The index has no videos yet. Add a folder on the Library page.")
        return
    video = pick_video(videos)
    playable = None
    try:
        playable = servable(video)
    except UserError as exc:  # moved or deleted: the index still has its timeline and captions
        st.error(describe(exc), icon=":material/error:")
    cols = st.columns(4)
    cols[0].metric("Status", video.status)
    cols[1].metric("Duration", clock(video.duration_s))
    cols[2].metric("Chunks", f"{video.chunks_done}/{video.chunks_total}")
    cols[3].metric("Objects", video.objects)
    if video.error:
        st.warning(describe(Exception(video.error)), icon=":material/warning:")
    duration = float(video.duration_s or 0.0)
    window = (0.0, duration)
    if duration > 0.5:
        window = st.slider("Time range (seconds) for objects and chat", 0.0, duration,
                           (0.0, min(duration, 30.0)), step=0.5, key=f"video-window-{video.video_id}")
    st.subheader("Timeline")
    timeline(video, window)
    captions_tab, objects_tab, chat_tab = st.tabs(["Captions", "Objects", "Chat"])
    with captions_tab:
        captions(reader, video)
    with objects_tab:
        objects(reader, video, playable, window)
    with chat_tab:
        chat(video, playable, window)


st.title("Video")
with shown_as_error(config.db):
    page()
