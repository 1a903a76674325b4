"""Library: every indexed video with its status, and a form that starts `sva index` on a folder in the
background (ui/indexer_launch.py). The table refreshes itself while anything is indexing."""

from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from agent.indexing.index_lock import lock_held
from index.summaries import VideoSummary
from sa2va_engine.user_error import UserError
from ui.clock import clock
from ui.access_gate import check_inside_roots, check_may_index, signed_in
from ui.dashboard_config import dashboard_config, index_reader, indexer_launches
from ui.user_errors import one_line, shown_as_error

config = dashboard_config()
account = signed_in()  # also when a page runs alone (tests); app.py signs in first


def status_label(video: VideoSummary, indexer_alive: bool = True) -> str:
    if video.status == "done":
        return "indexed"
    if video.status == "partial":
        return f"indexed, {video.chunks_failed} chunk(s) failed"
    if video.status == "indexing":
        done = f"{video.chunks_done + video.chunks_failed}/{video.chunks_total}"
        # The run that was indexing it is gone (stopped, crashed, killed): say so, don't show it as running.
        return f"indexing {done}" if indexer_alive else f"interrupted at {done}; index again to resume"
    return video.status


def error_line(video: VideoSummary) -> str:
    return one_line(video.error) if video.error else ""


def library_table(videos: list[VideoSummary], indexer_alive: bool = True) -> pd.DataFrame:
    rows = [
        {
            "video": Path(v.path).name,
            "status": status_label(v, indexer_alive),
            "progress": (v.chunks_done + v.chunks_failed) / v.chunks_total if v.chunks_total else 0.0,
            "duration": clock(v.duration_s),
            "chunks": f"{v.chunks_done}/{v.chunks_total}",
            "objects": v.objects,
            "error": error_line(v),
            "folder": str(Path(v.path).parent),
            "id": v.video_id,
        }
        for v in videos
    ]
    return pd.DataFrame(rows, columns=["video", "status", "progress", "duration", "chunks", "objects", "error",
                                       "folder", "id"])


def indexer_alive() -> bool:
    return lock_held(config.db) or bool(indexer_launches().running())


def busy(videos: list[VideoSummary]) -> bool:
    """Something is being indexed now: a live indexer holds the index, or the dashboard just started one."""
    return indexer_alive() and (any(v.status == "indexing" for v in videos) or bool(indexer_launches().running()))


def videos_section(polling: bool) -> None:
    videos = None
    with shown_as_error(config.db):
        videos = index_reader(str(config.db)).library()
    if videos is None:
        return
    if not videos:
        st.info("The index has no videos yet: add a folder below.")
    else:
        indexed = sum(v.status in ("done", "partial") for v in videos)
        st.caption(f"{len(videos)} video(s), {indexed} indexed, {sum(v.objects for v in videos)} objects.")
        picked = st.dataframe(
            library_table(videos, indexer_alive()),
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="library-table",
            column_config={
                "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
                "id": st.column_config.NumberColumn("id", format="%d"),
            },
        )
        rows = picked.selection.rows if picked is not None else []
        if rows:
            video = videos[rows[0]]
            st.page_link("page_video.py", label=f"Open {Path(video.path).name}", icon=":material/movie:",
                         query_params={"video": str(video.video_id)})
    if polling and not busy(videos):
        st.rerun()  # the whole page, so the fragment is set up again without its timer
    if polling:
        st.caption("Indexing is running: this table refreshes every few seconds.")


def busy_now() -> bool:
    try:
        return busy(index_reader(str(config.db)).library())
    except (UserError, duckdb.Error, OSError):  # the section itself says why the index cannot be read
        return bool(indexer_launches().running())


def add_folder_section() -> None:
    st.subheader("Add a folder")
    if not account.may_index:
        st.caption(f"Signed in as a viewer ({account.name}): an admin starts indexing.")
        return
    with st.form("add-folder", border=True):
        folder = st.text_input("Folder on this machine", placeholder="/data/footage")
        watch = st.text_input("Also track in every chunk (optional, comma separated)", placeholder="the dog, a person")
        start = st.form_submit_button("Index this folder", icon=":material/add:")
    if start:
        with shown_as_error(config.db):
            check_may_index(account)
            check_inside_roots(folder.strip() or ".", "folder")
            launch = indexer_launches().start(
                folder, config.db, config.log_dir, model=config.model,
                watch=[w for w in watch.split(",") if w.strip()],
            )
            st.success(f"Indexing {launch.folder} in the background (pid {launch.pid}); progress shows above and "
                       f"on the Jobs page. Log: `{launch.log_path}`", icon=":material/check:")


st.title("Library")
polling = busy_now()
# While anything is indexing only the table re-runs, every 3 s; the add-folder form keeps what is typed in it.
st.fragment(videos_section, run_every=3.0 if polling else None)(polling)
add_folder_section()
