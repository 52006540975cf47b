"""The benchmark harness: the service against a bare reference doing the same work, in one run."""
