"""Tests of the front: nginx with deploy/nginx.conf in front of gunicorn's sync workers, both really running."""
