"""``collector.bulk_collection``: the collector paced for a plan, and put back as it was."""

from __future__ import annotations

import gc

from ordersync.collector import BULK_THRESHOLD, bulk_collection


def test_pacing_is_undone_when_the_last_use_ends() -> None:
    before = gc.get_threshold()
    with bulk_collection():
        assert gc.get_threshold()[0] >= BULK_THRESHOLD
        assert gc.get_freeze_count() > 0  # what existed before is not walked again
        with bulk_collection():  # nested (or another thread's plan): still paced
            pass
        assert gc.get_threshold()[0] >= BULK_THRESHOLD
        assert gc.isenabled()  # cycles are still collected
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_undone_when_the_work_fails() -> None:
    before = gc.get_threshold()
    try:
        with bulk_collection():
            raise RuntimeError("the plan failed")
    except RuntimeError:
        pass
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)
