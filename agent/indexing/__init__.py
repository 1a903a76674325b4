"""Indexing footage: the index graph (`index_graph.py`) and its chunk steps (decode ahead, a chunk's frames, the
chunk analyser, object links across chunks, the chunk committer), the run around it (`indexer.py`: settings,
the one-indexer lock, the report, the stage clock) and the Ray actors a chunk's analysis can run on
(`ray_*.py`)."""
