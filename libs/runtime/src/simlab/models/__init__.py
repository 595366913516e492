"""Models shipped with Simlab; each module exposes MODEL."""
