"""The gateway: the one public port (gRPC, gRPC-Web, Connect), authentication, validation,
WatchJob fed from NATS, artifact downloads and the web UI."""
