"""The machine's region index (sim/machine.py ``_Regions``) against a brute-force list."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinta.sim.machine import _Regions


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 12), st.integers(0, 60), st.integers(1, 20)), max_size=40))
def test_regions_find_what_a_scan_finds(ops):
    """Insert-after-removing-overlaps (the machine's discipline), then queries, as a list scan would answer them."""
    regions, plain = _Regions(), {}
    for k, (start, length, lo, span) in enumerate(ops):
        key = (start, start + length, k % 3)
        hits = sorted(regions.overlapping(start, start + length))
        assert hits == sorted(q for q in plain if q[0] < start + length and start < q[1])
        for q in hits:
            assert regions.pop(q) == plain.pop(q)
        regions[key] = k
        plain[key] = k
        assert regions.get(key) == k and regions.get((start, start + length, 99)) is None
        assert sorted(regions.overlapping(lo, lo + span)) == sorted(q for q in plain if q[0] < lo + span and lo < q[1])
        assert regions.keys() == sorted(plain)


def test_regions_refuse_an_overlapping_insert():
    regions = _Regions()
    regions[(0, 8, "a")] = 1
    with pytest.raises(AssertionError, match="overlaps"):
        regions[(4, 12, "b")] = 2
    with pytest.raises(AssertionError, match="overlaps"):
        regions[(0, 4, "c")] = 3
    regions[(8, 12, "d")] = 4  # touching is not overlapping
    assert regions.overlapping(7, 9) == [(8, 12, "d"), (0, 8, "a")]
