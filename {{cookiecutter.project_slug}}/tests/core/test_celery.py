"""The Celery app and its settings: the broker each environment gets, in-process tasks without one, task defaults."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.celery import app, check_worker
from core.plumbing.tasks import IN_PROCESS_BROKER, celery_settings
from tests.core.test_settings import PROJECT, manage
from tests.core.worker_tasks import attempts, flaky


@pytest.mark.parametrize(
    ("redis_url", "broker"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/1"),
        ("rediss://:secret@cache.example.com:6380/7", "rediss://:secret@cache.example.com:6380/8"),
    ],
)
def test_the_broker_is_the_database_after_the_cache_s_so_flushing_the_cache_keeps_the_queue(
    redis_url: str, broker: str
) -> None:
    assert celery_settings({"REDIS_URL": redis_url})["CELERY_BROKER_URL"] == broker


def test_celery_broker_url_wins_over_redis_url() -> None:
    environ = {"REDIS_URL": "redis://cache:6379/0", "CELERY_BROKER_URL": "redis://queue:6379/0"}

    assert celery_settings(environ)["CELERY_BROKER_URL"] == "redis://queue:6379/0"


def test_without_a_broker_tasks_run_in_process_and_raise_to_their_caller() -> None:
    settings = celery_settings({})

    assert settings["CELERY_BROKER_URL"] == IN_PROCESS_BROKER
    assert settings["CELERY_TASK_ALWAYS_EAGER"] is True
    assert settings["CELERY_TASK_EAGER_PROPAGATES"] is True
    assert settings["CELERY_RESULT_BACKEND"] is None


def test_with_a_broker_tasks_go_to_workers_and_their_results_beside_the_queue() -> None:
    settings = celery_settings({"REDIS_URL": "redis://127.0.0.1:6379/0"})

    assert settings["CELERY_TASK_ALWAYS_EAGER"] is False
    assert settings["CELERY_RESULT_BACKEND"] == "redis://127.0.0.1:6379/1"


def test_tasks_are_acknowledged_once_run_one_at_a_time_within_limits_the_broker_waits_out() -> None:
    settings = celery_settings({"REDIS_URL": "redis://127.0.0.1:6379/0"})

    assert settings["CELERY_TASK_ACKS_LATE"] is True
    assert settings["CELERY_TASK_REJECT_ON_WORKER_LOST"] is True
    assert settings["CELERY_WORKER_PREFETCH_MULTIPLIER"] == 1
    assert settings["CELERY_TASK_SERIALIZER"] == "json"
    assert (settings["CELERY_TASK_SOFT_TIME_LIMIT"], settings["CELERY_TASK_TIME_LIMIT"]) == (300, 360)
    assert settings["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 3600


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"CELERY_TASK_TIME_LIMIT": "ten"},
            "CELERY_TASK_TIME_LIMIT must be a positive whole number of seconds: 'ten'",
        ),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "0"}, "CELERY_TASK_SOFT_TIME_LIMIT must be a positive whole number"),
        (
            {"CELERY_TASK_SOFT_TIME_LIMIT": "60", "CELERY_TASK_TIME_LIMIT": "60"},
            "must be below CELERY_TASK_TIME_LIMIT",
        ),
        ({"CELERY_BROKER_VISIBILITY_TIMEOUT": "360"}, "CELERY_BROKER_VISIBILITY_TIMEOUT (360) must exceed"),
        ({"CELERY_WORKER_CONCURRENCY": "many"}, "CELERY_WORKER_CONCURRENCY must be a positive whole number"),
        ({"REDIS_URL": "unix:///run/redis.sock"}, "Set CELERY_BROKER_URL"),
    ],
)
def test_a_bad_value_is_refused_naming_it(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        celery_settings(environ)

    assert message in str(refused.value)


def test_a_bad_time_limit_stops_start_up_with_one_line() -> None:
    result = manage("check", settings="settings.test", CELERY_TASK_TIME_LIMIT="ten")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "CELERY_TASK_TIME_LIMIT must be a positive whole number of seconds: 'ten'"
    ]


def test_a_shared_task_binds_to_the_project_app_and_runs_in_process_in_tests() -> None:
    attempts.clear()

    assert flaky.app is app
    assert flaky.delay(0).get() == 1


def test_a_task_failing_on_a_database_error_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts.clear()
    # In-process, a retry runs at once, and only when the first error is not raised to the caller instead.
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)

    assert flaky.delay(2).get() == 3
    assert flaky.max_retries == 5


def test_a_worker_without_a_broker_stops_with_one_line() -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key not in {"REDIS_URL", "CELERY_BROKER_URL"}
    }
    environment |= {"DJANGO_SETTINGS_MODULE": "settings.test", "DJANGO_READ_DOT_ENV_FILE": "false"}

    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "core", "worker"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "A worker needs REDIS_URL or CELERY_BROKER_URL; without them tasks run in-process."
    )


def test_a_worker_logs_each_task_that_may_run_longer_than_the_broker_waits(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:6379/1")
    monkeypatch.setitem(app.conf, "broker_transport_options", {"visibility_timeout": 3600})
    check_worker()
    assert "CELERY_BROKER_VISIBILITY_TIMEOUT" not in caplog.text  # every task's limit is below it

    monkeypatch.setitem(app.conf, "broker_transport_options", {"visibility_timeout": 100})
    check_worker()

    assert "core.tasks.ping may run 360 s: raise CELERY_BROKER_VISIBILITY_TIMEOUT (100 s) above that" in caplog.text
