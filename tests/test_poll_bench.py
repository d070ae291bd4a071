"""The polling benchmarks do the work they claim (no timing asserted)."""

from __future__ import annotations

from bench.workloads import polling


def test_poll_twice_first_pass_stores_and_second_pass_is_all_304() -> None:
    inputs = polling.prepare_poll(6)
    try:
        round_ = polling.fresh_databases(inputs)
        assert polling.first_poll(round_) == {"ok": 6}
        assert polling.second_poll(round_) == {"not_modified": 6}
        # The floor's database was fresh: polling it again is a second pass too.
        assert polling.first_poll(round_) == {"not_modified": 6}
    finally:
        polling.teardown_poll(inputs)


def test_feed_parse_sides_read_the_same_items() -> None:
    bodies = polling.prepare_parse(60)
    assert polling.parse_with_lxml(bodies) == polling.parse_with_poller(bodies) == 60
