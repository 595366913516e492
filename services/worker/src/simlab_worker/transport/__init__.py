"""Job store messages <-> the worker's domain values."""
