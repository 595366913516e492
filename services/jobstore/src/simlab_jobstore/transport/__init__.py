"""gRPC: the JobStore and Health servicers, proto <-> domain, auth, error mapping."""
