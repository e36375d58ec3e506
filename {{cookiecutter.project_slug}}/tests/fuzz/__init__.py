"""``make fuzz``: schemathesis against a live gunicorn with the production settings; left out of ``make pytest``."""
