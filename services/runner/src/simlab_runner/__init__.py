"""simlab runner service."""
