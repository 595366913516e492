"""Simlab's shared package: generated API stubs, models, the Monte Carlo engine's pure logic,
adapters shared by several services, the Python client and the CLI."""
