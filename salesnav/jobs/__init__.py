"""Background work: the queue, idempotent job runs, the clock and its periodic jobs."""
