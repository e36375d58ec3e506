"""Benchmark settings: production's, with the benchmark's stages (tests/perf/) mounted under /bench/.

Only the benchmark runs with them; the production settings never import tests/perf/.
"""

from .production import *

ROOT_URLCONF = "tests.perf.urls"
# The page-size sweep asks for up to 1,000 items a page.
API_MAX_PAGE_SIZE = 1000
# The cold stage misses on every request from one client: no miss budget, or it would measure the 429.
API_CACHE_MISS_RATE = None
