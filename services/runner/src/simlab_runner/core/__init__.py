"""Pure logic of the runner."""
