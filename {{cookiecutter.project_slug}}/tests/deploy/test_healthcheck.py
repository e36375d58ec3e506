"""The container's health check (deploy/healthcheck.py): where it asks, as whom, and its exit status."""

import socket

import pytest
from pytest_django.live_server_helper import LiveServer

from deploy.healthcheck import main, probe_address, probe_host


def unused_port() -> int:
    """Return a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("environ", "address"),
    [
        ({}, "127.0.0.1:8000"),
        ({"HOST": "0.0.0.0", "PORT": "9000"}, "127.0.0.1:9000"),  # noqa: S104 - the image's HOST, never bound here
        ({"HOST": "10.0.0.5", "PORT": "9000"}, "10.0.0.5:9000"),
        ({"GUNICORN_BIND": "[::]:8001", "PORT": "9000"}, "127.0.0.1:8001"),
        ({"HOST": "::", "PORT": "9000"}, "127.0.0.1:9000"),
    ],
)
def test_probe_address_is_where_gunicorn_binds_with_loopback_for_every_interface(
    environ: dict[str, str], address: str
) -> None:
    assert probe_address(environ) == address


def test_probe_address_refuses_a_unix_socket_with_the_reason() -> None:
    with pytest.raises(SystemExit, match="over TCP only"):
        probe_address({"GUNICORN_BIND": "unix:/run/gunicorn.sock"})


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("api.example.com,localhost", "api.example.com"),
        (" .example.com ,localhost", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_probe_host_is_one_that_allowed_hosts_accepts(allowed: str, host: str) -> None:
    assert probe_host({"DJANGO_ALLOWED_HOSTS": allowed}) == host


@pytest.mark.django_db(transaction=True)
def test_health_check_exits_0_and_prints_the_state_when_health_answers_200(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"GUNICORN_BIND": f"127.0.0.1:{live_server.thread.port}", "DJANGO_ALLOWED_HOSTS": "testserver"}

    assert main(environ) == 0
    assert '"database": "ok"' in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_health_check_exits_1_when_the_project_refuses_its_host(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"GUNICORN_BIND": f"127.0.0.1:{live_server.thread.port}", "DJANGO_ALLOWED_HOSTS": "elsewhere.test"}

    assert main(environ) == 1
    assert capsys.readouterr().out.startswith("400")


def test_health_check_exits_1_naming_the_reason_when_nothing_listens(capsys: pytest.CaptureFixture[str]) -> None:
    assert main({"GUNICORN_BIND": f"127.0.0.1:{unused_port()}"}) == 1
    assert "did not answer" in capsys.readouterr().out
