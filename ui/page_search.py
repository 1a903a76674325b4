"""Search: a question -> moments as thumbnail cards; a card plays its moment with the masks drawn.

The retrieval-only answer is shown as soon as the index answers; the model-verified answer replaces it
when the model worker is done (ui/moment_query.py). State lives in st.session_state:
`search` (SearchRun), `search_open` (the Moment being played), `search_shown` (cards shown).
"""

import time

import streamlit as st

from agent.query.event_verbs import is_state
from tools.moment import Moment
from ui.clock import span
from ui.access_gate import signed_in
from ui.dashboard_config import dashboard_config, index_reader
from ui.media import MAX_FULL_VIDEO_BYTES, servable, video_by_path
from ui.moment_cards import is_verified, moment_grid, object_ids, what_was_seen
from ui.moment_query import SearchRun, retrieve, start_verification
from ui.overlay_cache import moment_clip
from ui.user_errors import shown_as_error

PAGE = 12  # cards per "show more"

config = dashboard_config()
account = signed_in()  # also when a page runs alone (tests); app.py signs in first
state = st.session_state


def open_moment(moment: Moment) -> None:
    state.search_open = moment
    state.search_full = False


def player(moment: Moment) -> None:
    """The open moment: its overlay clip from the moment's start, what it rests on, and ways on."""
    reader = index_reader(str(config.db))
    with st.container(border=True):
        with shown_as_error(config.db):
            video = servable(video_by_path(reader, moment.video_path))
            clip_col, about = st.columns([3, 2])
            with about:
                st.subheader(f"{video.name} · {span(moment.start_s, moment.end_s)}")
                verified = " · :green-badge[verified]" if is_verified(moment) else ""
                st.markdown(f"score {moment.score:.2f}{verified}")
                seen = what_was_seen(moment)
                if seen:
                    st.caption(seen[:300])
                st.page_link("page_video.py", label="Timeline, captions and chat for this video",
                             icon=":material/movie:", query_params={"video": str(video.summary.video_id)})
                whole = video.size_bytes <= MAX_FULL_VIDEO_BYTES
                if whole and st.button("Play the whole video from here", key="search-full"):
                    state.search_full = True
                if not whole:
                    st.caption("The whole video is too large to stream from the dashboard; the clip shows the moment.")
            with clip_col:
                with st.spinner("Drawing the masks on the clip…"):
                    clip = moment_clip(reader, video, moment.start_s, moment.end_s, object_ids(moment),
                                       config.cache_dir)
                st.video(clip.path, start_time=clip.offset(moment.start_s), autoplay=True, muted=True)
            if whole and state.get("search_full"):
                st.video(video.path, start_time=int(moment.start_s))
        if st.button("Close", key="search-close", icon=":material/close:"):
            state.pop("search_open", None)
            st.rerun()


@st.fragment(run_every=1.0)
def await_verification(run: SearchRun) -> None:
    if run.collect():
        st.rerun()
    waited = time.monotonic() - run.verify_started
    if run.retrieval is not None and run.retrieval.route == "events":
        st.info(f"Checking with Sa2VA the objects whose names leave it open whether they are the subject… "
                f"({waited:.0f} s). The moments below are from the stored events of the others until then.",
                icon=":material/hourglass_top:")
        return
    st.info(f"Checking the candidates with Sa2VA… ({waited:.0f} s). The moments below are retrieval-only "
            "until then.", icon=":material/hourglass_top:")


def results(run: SearchRun) -> None:
    reader = index_reader(str(config.db))
    if run.retrieval is None:
        with st.spinner("Searching the index…"):
            run.retrieval = retrieve(run.question, config)
        if run.verify:
            start_verification(run, config)
    run.collect()
    answer = run.best
    if answer.route == "events":
        of_states = answer.event is not None and is_state(answer.event)  # "not_near" too: the rest of the time
        kind = ":blue-badge[from stored states]" if of_states else ":blue-badge[from stored events]"
    elif answer.route == "none":
        kind = ""
    else:
        kind = ":green-badge[verified by Sa2VA]" if answer.verified else ":gray-badge[retrieval only]"
    st.markdown(f"{answer.answer} {kind}")
    if run.pending is not None:
        await_verification(run)
    if run.verify_error:
        st.warning(f"Not verified: {run.verify_error}", icon=":material/warning:")
    if answer.errors:
        with st.expander(f"{len(answer.errors)} candidate(s) could not be checked"):
            st.write("\n".join(f"- {e}" for e in answer.errors))
    if state.get("search_open") is not None:
        player(state.search_open)
    if not answer.moments:
        st.info("No moments found. Try other words, or index more footage on the Library page.")
        return
    shown = state.get("search_shown", PAGE)
    stage = "verified" if answer.verified else "retrieved"
    moment_grid(answer.moments[:shown], reader, config.cache_dir, f"moment-{stage}", open_moment)
    if len(answer.moments) > shown and st.button(f"Show more ({len(answer.moments) - shown} left)"):
        state.search_shown = shown + PAGE
        st.rerun()


st.title("Search")
with st.form("ask", border=False):
    ask, verify_col, go = st.columns([6, 1.8, 1], vertical_alignment="bottom")
    question = ask.text_input("Question", placeholder="every moment the dog jumps")
    verify = verify_col.toggle("Verify with Sa2VA", value=True, help="Check each candidate with the model; "
                               "retrieval-only moments are shown meanwhile.")
    asked = go.form_submit_button("Search", type="primary", width="stretch")

if asked:
    previous = state.get("search")
    if previous is not None and previous.pending is not None:
        previous.pending.cancel()  # still queued behind other work: nobody will look at it any more
    # As typed: the query graph refuses an empty, over-long or control-character question with the one line
    # `sva query` prints (agent/query/query_parse.py, checked_question), shown below by `shown_as_error`.
    state.search = SearchRun(question=question, verify=verify)
    state.pop("search_open", None)
    state.pop("search_shown", None)

current = state.get("search")
if current is None:
    st.caption("Ask for what you want to find, for example *every moment the dog jumps*, *when is the dog near "
               "the ball*, *find every jump* (any object) or *what does the dog do*.")
else:
    with shown_as_error(config.db):
        results(current)
