"""What runs the project: URLs, WSGI/ASGI, health, errors, parsers, security headers, static files, throttles, the
database backend."""
