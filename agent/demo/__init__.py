"""`sva demo` and the accuracy evaluation on synthetic videos (`demo_run.py`), and the scores against the
synthetic world's ground truth (`metrics.py`)."""
