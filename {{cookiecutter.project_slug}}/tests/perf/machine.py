"""The one-line description of the machine a benchmark ran on, for its report."""

import os
import platform
from pathlib import Path


def machine() -> str:
    """Return a one-line description of this machine, Python, database and cache."""
    from django.conf import settings
    from django.db import connection

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), cpu)
    database = f"{connection.display_name} {'.'.join(map(str, connection.get_database_version()))}"
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), Python "
        f"{platform.python_version()}, {database}, cache {backend}"
    )
