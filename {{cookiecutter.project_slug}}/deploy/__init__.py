"""The production front: deploy/nginx.conf and the launcher that runs it with gunicorn behind it (deploy/front.py)."""
