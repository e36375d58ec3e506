"""Each fault under read/write load: no acknowledged write lost, no 5xx beyond the requests in flight at the fault,
and every write shown by the cached reads within the stale bound once the fault is over.
"""

import pytest

from tests.chaos.faults import FAULTS, Fault, World
from tests.chaos.report import Figures
from tests.chaos.scenario import run

pytestmark = pytest.mark.chaos


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_fault_under_load_loses_no_write_and_serves_no_error_or_stale_data(
    world: World, chaos_results: list[Figures], fault: Fault
) -> None:
    figures = run(fault, world)
    chaos_results.append(figures)

    problems = figures.problems()

    assert not problems, f"{fault.title}: " + "; ".join(problems)
