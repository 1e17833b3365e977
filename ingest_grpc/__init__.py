"""The gRPC ingest route: HTTP gateway -> gRPC server (group commit) -> MySQL."""
