"""Generated documents (PDF)."""
