"""The fault suite (``make chaos``): the served project under load while its PostgreSQL, Redis and workers fail."""
