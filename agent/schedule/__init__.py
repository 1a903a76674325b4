"""Scheduled indexing (`sva schedule`): the schedule's spec, the store that keeps schedules and their runs in
the index, and the runner (APScheduler) that starts them."""
