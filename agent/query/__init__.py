"""Answering a question: the query graph (`query_graph.py`), the question's parser and plan, event verbs,
subject resolution against the index, and the answer it returns."""
