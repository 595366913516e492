"""Pure job logic: the state machine, progress arithmetic, listing cursors. No I/O."""
