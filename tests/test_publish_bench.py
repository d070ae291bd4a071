"""The publish benchmark's two sides render the same items (no timing asserted)."""

from __future__ import annotations

import re

from bench.workloads.publish import BUILD_FEED, build_with_publish, build_with_template, prepare
from tests.publish_data import parse_feed


def test_both_sides_of_the_publish_workload_render_the_same_items() -> None:
    inputs = prepare(5)
    try:
        ours = parse_feed(build_with_publish(inputs))
        floor = parse_feed(build_with_template(inputs))
    finally:
        BUILD_FEED.teardown(inputs)
    assert len(ours.entries) == len(floor.entries) == 5
    assert [e.title for e in ours.entries] == [e.title for e in floor.entries]
    ids = [re.sub(r"^tag:[^,]+", "", e.id) for e in ours.entries]
    assert ids == [re.sub(r"^tag:[^,]+", "", e.id) for e in floor.entries]
    assert [e.link for e in ours.entries] == [e.link for e in floor.entries]
