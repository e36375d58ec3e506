"""How the project is served: nginx (nginx.conf) in front of gunicorn (front.py), or granian (granian_server.py)."""
