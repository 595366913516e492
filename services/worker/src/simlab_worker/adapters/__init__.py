"""The outside world of the worker: the job store over gRPC."""
