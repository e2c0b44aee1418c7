"""Deterministic demo data: the article's company (see seed.py)."""
