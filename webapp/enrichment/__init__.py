"""Enrichment fragments (weather, GitHub) shown on the task pages."""
