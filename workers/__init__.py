"""Celery workers that score queued submissions; started with `mia-arena worker`."""
