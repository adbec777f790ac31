"""Celery workers that score queued submissions (arrives with the submission pipeline)."""
