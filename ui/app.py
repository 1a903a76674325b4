"""The sva dashboard: `sva ui` runs `streamlit run` on this file (settings arrive as SVA_DB, SVA_MODEL).

Four pages, each a script in this folder; they read the index through IndexReader only and never write it
(an admin's "Add a folder" starts `sva index`, a separate process, which does). Sign-in comes first
(ui/access_gate.py).
"""

import streamlit as st

from ui.access_gate import sign_out_button, signed_in
from ui.dashboard_config import dashboard_config

st.set_page_config(page_title="sva", page_icon=":material/movie:", layout="wide")

pages = [
    st.Page("page_search.py", title="Search", icon=":material/search:", url_path="search", default=True),
    st.Page("page_library.py", title="Library", icon=":material/video_library:", url_path="library"),
    st.Page("page_video.py", title="Video", icon=":material/movie:", url_path="video"),
    st.Page("page_jobs.py", title="Jobs", icon=":material/work_history:", url_path="jobs"),
]
# Before any page: the sign-in form until this browser session has an account (none needed on 127.0.0.1 when the
# index has no accounts).
account = signed_in()
sign_out_button(account)
navigation = st.navigation(pages)
st.sidebar.caption(f"Index: `{dashboard_config().db}`")
navigation.run()
