"""The fault suite's bookkeeping, without servers: which requests a fault may cost, and what the database must hold.

These run with the plain suite; only the faults themselves are marked ``chaos``.
"""

from tests.chaos.load import Exchange, WriteLog, expected_writes
from tests.chaos.report import Figures, Window, count

WINDOW = Window(injecting=10.0, injected=10.5, recovered=13.0)


def _exchange(started: float, ended: float, status: int | None, *, retry_after: bool = False) -> Exchange:
    """Return a GET of the list with these times and answer."""
    return Exchange("GET", "/api/articles/", started, ended, status, retry_after)


def test_window_counts_as_in_flight_only_requests_overlapping_the_injection() -> None:
    assert WINDOW.in_flight(_exchange(9.0, 10.1, 500))
    assert WINDOW.in_flight(_exchange(10.2, 10.6, 500))
    assert not WINDOW.in_flight(_exchange(9.0, 9.9, 500))
    assert not WINDOW.in_flight(_exchange(10.6, 11.0, 500))


def test_count_fails_5xx_and_unanswered_requests_outside_the_window_only() -> None:
    figures = Figures("f", "a fault")
    exchanges = [_exchange(9.0, 10.2, 500), _exchange(11.0, 11.1, None), _exchange(11.0, 11.1, 502)]

    count(figures, exchanges, WINDOW, database_outage=False)

    assert (figures.failed_in_flight, figures.failed_outside, figures.no_answer) == (1, 2, 1)
    assert len(figures.failures) == 2
    assert figures.problems()[0].startswith("2 5xx or unanswered requests beyond the 1 in flight")


def test_count_takes_503_with_retry_after_as_fail_fast_during_a_database_outage_only() -> None:
    exchanges = [_exchange(11.0, 11.1, 503, retry_after=True), _exchange(11.0, 11.1, 503)]
    outage, other = Figures("f", "a fault"), Figures("f", "a fault")

    count(outage, exchanges, WINDOW, database_outage=True)
    count(other, exchanges, WINDOW, database_outage=False)

    assert (outage.fail_fast, outage.server_errors, outage.failed_outside) == (1, 1, 1)
    assert (other.fail_fast, other.server_errors, other.failed_outside) == (0, 2, 2)


def test_expected_writes_allow_the_last_acknowledged_title_or_a_later_unanswered_one() -> None:
    log = WriteLog()
    log.created(7, "first")
    log.titled(7, "second", acknowledged=True)
    log.titled(7, "third", acknowledged=False)
    log.titled(8, "never acknowledged", acknowledged=False)
    log.commented(3)

    expected = expected_writes([log])

    assert expected == {"titles": {"7": ["second", "third"]}, "comments": [3]}
    assert log.acknowledged == 3


def test_stale_window_past_the_bound_is_a_problem_and_within_it_is_not() -> None:
    stale = Figures("f", "a fault", in_fault_write_acknowledged=True, stale_in_fault_seconds=None)
    fresh = Figures("f", "a fault", in_fault_write_acknowledged=True, stale_in_fault_seconds=0.2)
    stale.after_write_acknowledged = fresh.after_write_acknowledged = True
    stale.stale_after_seconds = fresh.stale_after_seconds = 0.1

    assert stale.problems() == ["a write during the fault was stale more than 12 s after it ended (bound 10 s)"]
    assert fresh.problems() == []
