"""Redis through Sentinel: the primary killed under load (make test-sentinel)."""
