"""The benchmarks' shared plumbing: rounds take the stages in turn, each round starting from the next one."""

from tests.perf.load import rounds_in_turn


def test_rounds_in_turn_start_each_round_from_the_next_stage() -> None:
    order = list(rounds_in_turn(3, rounds=4))

    assert order == [
        (1, 0), (1, 1), (1, 2),
        (2, 1), (2, 2), (2, 0),
        (3, 2), (3, 0), (3, 1),
        (4, 0), (4, 1), (4, 2),
    ]  # fmt: skip
