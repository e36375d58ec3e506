#!/usr/bin/env python
"""Django's command-line utility; local settings (which read .env) unless DJANGO_SETTINGS_MODULE says otherwise."""

import os
import sys


def main() -> None:
    """Run a management command."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.local")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
