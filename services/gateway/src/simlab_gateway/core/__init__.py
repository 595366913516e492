"""Pure logic of the gateway."""
