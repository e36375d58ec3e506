"""The servers' address: HOST and PORT as for ``make run``, GUNICORN_BIND over both, a bad PORT refused."""

import pytest

from deploy.address import bind_address
from deploy.granian_server import granian_arguments


@pytest.mark.parametrize(
    ("environ", "bind"),
    [
        ({}, "127.0.0.1:8000"),
        ({"PORT": "9000"}, "127.0.0.1:9000"),
        ({"HOST": "0.0.0.0", "PORT": "8080"}, "0.0.0.0:8080"),  # noqa: S104 - the address a container listens on
        ({"HOST": "::", "PORT": "8080"}, "[::]:8080"),
        ({"HOST": "", "PORT": ""}, "127.0.0.1:8000"),
        ({"HOST": "0.0.0.0", "PORT": "9000", "GUNICORN_BIND": "unix:/run/app.sock"}, "unix:/run/app.sock"),  # noqa: S104
    ],
)
def test_servers_listen_on_host_and_port_unless_gunicorn_bind_says(environ: dict[str, str], bind: str) -> None:
    assert bind_address(environ) == bind


@pytest.mark.parametrize("port", ["0", "65536", "80a", "-1", "http"])
def test_a_port_that_is_not_a_port_number_stops_start_up_saying_so(port: str) -> None:
    with pytest.raises(SystemExit, match=r"^PORT must be a port number from 1 to 65535: "):
        bind_address({"PORT": port})


def test_granian_listens_on_host_and_port_too() -> None:
    arguments = granian_arguments("app:application", {"HOST": "0.0.0.0", "PORT": "9001"})  # noqa: S104

    assert arguments[:4] == ["--host", "0.0.0.0", "--port", "9001"]  # noqa: S104
