"""Wire formats of the gateway: the Connect service, HTTP routes."""
