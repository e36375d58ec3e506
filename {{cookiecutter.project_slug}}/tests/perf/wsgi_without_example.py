"""The benchmark server's WSGI application: the project's, where a request carrying ``X-Bench-Miss: 1`` misses.

See ``tests.perf.misses``.
"""

from core.plumbing.wsgi import application as project_application
from tests.perf.misses import with_misses

application = with_misses(project_application)
