"""Benchmark settings: production's, with no miss budget, for ``make bench URLS=...``.

Only the benchmark runs with them; the production settings never import tests/perf/.
"""

from .production import *

# The miss rows send every request of one client past the cache: no miss budget, or they would measure the 429.
API_CACHE_MISS_RATE = None
