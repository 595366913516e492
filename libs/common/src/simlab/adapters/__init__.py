"""The outside world, shared by several services (object store, ...)."""
