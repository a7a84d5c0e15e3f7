"""Evaluations: measured retrieval quality on generated or given data."""
