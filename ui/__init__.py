"""The Streamlit dashboard (`sva ui`): reads the index through IndexReader, calls the query graph, never writes.

app.py is the entry (st.navigation); page_search/page_library/page_video/page_jobs are the pages; the other
modules hold one thing each: media (which files may be served), overlay_cache (thumbnails and overlay clips on
disk), moment_query (retrieval-only then verified answers), moment_cards, timeline, video_chat,
indexer_launch (background `sva index`), dashboard_config (settings and per-process shared objects),
user_errors (one-line errors), clock.
"""
