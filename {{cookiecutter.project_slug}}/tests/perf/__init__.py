"""Benchmarks: they start real servers and load them; they report speed and never assert it."""
