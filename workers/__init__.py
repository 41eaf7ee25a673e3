"""Background work: RQ job functions, the worker process and the clock."""
