"""gRPC: the JobStore servicer, proto <-> domain, auth, error mapping."""
