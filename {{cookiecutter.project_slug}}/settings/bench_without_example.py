"""Benchmark settings: production's, with no miss budget, for ``make bench URLS=...``.

Only the benchmark runs with them; the production settings never import tests/perf/.
"""

from .production import *

# The miss rows send every request of one client past the cache: no miss budget, or they would measure the 429.
API_CACHE_MISS_RATE = None
# The benchmark measures the application itself, without a log line per request (README, "Errors and logs", gives what
# that line costs); DJANGO_REQUEST_LOG=on measures it with.
REQUEST_LOG = switch_setting("DJANGO_REQUEST_LOG", default="off")
