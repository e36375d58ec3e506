"""Create the PostgreSQL database DATABASE_URL names when the server does not have it yet (``make migrate`` runs it).

A fresh server then needs no ``createdb`` before ``make run``. A server that cannot be reached, or refuses the
user, stops the command with one line saying so, instead of the traceback of every connection attempt that
``migrate`` would log before its pool gives up.
"""

from pathlib import Path
from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql

# The database every PostgreSQL server has, where CREATE DATABASE can be run from.
MAINTENANCE_DATABASE = "postgres"
# What psycopg.connect takes of Django's connection parameters: the address, the user and the timeout.
CONNECT_PARAMETERS = ("host", "port", "user", "password", "sslmode", "connect_timeout", "passfile", "service")


class Command(BaseCommand):
    help = "Create the database DATABASE_URL names if its PostgreSQL server does not have it yet."
    # The checks open the database this command is here to make.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The alias in DATABASES (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor == "sqlite":
            Path(connection.settings_dict["NAME"]).parent.mkdir(parents=True, exist_ok=True)
            return
        if connection.vendor != "postgresql":
            return
        parameters = connection.get_connection_params()
        name = parameters["dbname"]
        address = {key: value for key, value in parameters.items() if key in CONNECT_PARAMETERS}
        if created(name, address):
            self.stdout.write(f"Created the database {name} on {where(address)}.")


def where(address: dict[str, Any]) -> str:
    """Return host:port, as a person would write the server's address."""
    return f"{address.get('host') or 'localhost'}:{address.get('port') or 5432}"


def cause(exc: Exception) -> str:
    """Return the cause in psycopg's message, without the "connection to server at ... failed:" before it."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    return " ".join(lines[0].rpartition("failed: ")[2].split())


def created(name: str, address: dict[str, Any]) -> bool:
    """Return whether the database had to be created; raise CommandError when it cannot be reached or created."""
    try:
        psycopg.connect(dbname=name, **address).close()
    except psycopg.OperationalError as exc:
        refused = cause(exc)
    else:
        return False
    try:
        with psycopg.connect(dbname=MAINTENANCE_DATABASE, autocommit=True, **address) as server:
            if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                raise CommandError(f"PostgreSQL at {where(address)} refused the connection to {name}: {refused}")
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError:
        raise CommandError(
            f"Cannot connect to PostgreSQL at {where(address)} ({refused}): start the server or fix DATABASE_URL; "
            "without DATABASE_URL the project runs on its embedded SQLite file."
        ) from None
    except psycopg.errors.InsufficientPrivilege:
        raise CommandError(
            f"The database {name} does not exist and user {address.get('user')} may not create it: "
            f"ask for it (createdb -h {address.get('host')} {name}) or use a user with CREATEDB."
        ) from None
    return True
