"""Settings, logging, errors and helpers every service shares."""
