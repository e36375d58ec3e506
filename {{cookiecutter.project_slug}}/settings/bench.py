"""Benchmark settings: production's, with the benchmark's stages (tests/perf/) mounted under /bench/.

Only the benchmark runs with them; the production settings never import tests/perf/.
"""

from .production import *

ROOT_URLCONF = "tests.perf.urls"
# The page-size sweep asks for up to 1,000 items a page.
API_MAX_PAGE_SIZE = 1000
# The cold stage, and the miss rows of `make bench URLS=...`, miss on every request from one client: no miss budget,
# or they would measure the 429.
API_CACHE_MISS_RATE = None
# Every miss stores an entry nothing reads again: keep none past its lifetime for database outages (one day by
# default), or each run would leave thousands of them in Redis.
API_CACHE_STALE_IF_ERROR = 0
# The benchmark measures the application itself, without a log line per request (README, "Errors and logs", gives what
# that line costs); DJANGO_REQUEST_LOG=on measures it with.
REQUEST_LOG = switch_setting("DJANGO_REQUEST_LOG", default="off")
