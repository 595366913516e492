"""Versioned SQL migrations, applied in file-name order: NNNN_name.sql."""
