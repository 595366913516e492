"""simlab jobstore service."""
