"""Background processes: the RQ worker and the clock (the jobs they run are in app.jobs)."""
