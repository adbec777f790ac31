"""Pure scoring: competition definitions, submission and ground-truth readers, MICO metrics.

Imports numpy, orjson and the standard library only: no web framework, database or queue.
"""
