"""simlab worker service."""
