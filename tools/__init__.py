"""What the agent calls, pydantic in and out: video probe, decode and chunking (PyAV), clips, the Sa2VA
calls (chat, grounded caption, tracking, region caption, verification), events from tracks, overlays, and the
currencies they pass (`ChunkAnalysis`, `Moment`)."""
