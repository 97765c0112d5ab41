"""Workload slicing: worked examples checked by hand, then invariants checked by hypothesis."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.workload import (
    BusyIndex,
    busy_interval,
    fill_parallel_conversations,
    quarter_start,
    slice_segment,
    slice_segment_row,
)

UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
ZONES = [UTC_ZONE, NEW_YORK, KATHMANDU, ZoneInfo("Europe/London"), ZoneInfo("Australia/Adelaide")]


def epoch(*args: int, tz: ZoneInfo = UTC_ZONE) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp())  # type: ignore[misc]


def conversation(started_at: int, talk: int, wrap: int = 0, tz: ZoneInfo = UTC_ZONE) -> list[dict]:
    return slice_segment(
        segment_id="SG1",
        kind="CONVERSATION",
        started_at=started_at,
        talk_time=talk,
        wrap_up_time=wrap,
        activity_time=None,
        activity=None,
        agent_id="WK1",
        tz=tz,
    )


def status(started_at: int, activity_time: int, tz: ZoneInfo = UTC_ZONE) -> list[dict]:
    return slice_segment(
        segment_id="SG2",
        kind="AGENT_STATUS",
        started_at=started_at,
        talk_time=None,
        wrap_up_time=None,
        activity_time=activity_time,
        activity="Available",
        agent_id="WK1",
        tz=tz,
    )


def summary(rows: list[dict]) -> list[tuple[int, int, int, int]]:
    return [
        (r["interval_start"], r["talk_time"], r["wrap_up_time"], r["activity_time"]) for r in rows
    ]


# --- worked examples -------------------------------------------------------------------------


def test_forty_minute_call_from_the_spec() -> None:
    """10:05 + 40 min: 10 min to 10:00, 15 to 10:15, 15 to 10:30."""
    rows = conversation(epoch(2024, 5, 6, 10, 5), talk=40 * 60)
    assert summary(rows) == [
        (epoch(2024, 5, 6, 10, 0), 600, 0, 0),
        (epoch(2024, 5, 6, 10, 15), 900, 0, 0),
        (epoch(2024, 5, 6, 10, 30), 900, 0, 0),
    ]
    assert [r["order"] for r in rows] == [1, 2, 3]
    assert [r["workload_id"] for r in rows] == ["SG1:1", "SG1:2", "SG1:3"]


def test_wrap_up_follows_talk_across_a_boundary() -> None:
    """Talk 10:05-10:45, wrap-up 10:45-10:52 lands entirely in the 10:45 slice."""
    rows = conversation(epoch(2024, 5, 6, 10, 5), talk=40 * 60, wrap=7 * 60)
    assert summary(rows)[-1] == (epoch(2024, 5, 6, 10, 45), 0, 420, 0)
    assert len(rows) == 4


def test_wrap_up_split_between_two_slices() -> None:
    """Talk 10:10:00-10:14:00, wrap-up 10:14:00-10:16:30: 60 s + 90 s of wrap-up."""
    rows = conversation(epoch(2024, 5, 6, 10, 10), talk=240, wrap=150)
    assert summary(rows) == [
        (epoch(2024, 5, 6, 10, 0), 240, 60, 0),
        (epoch(2024, 5, 6, 10, 15), 0, 90, 0),
    ]


def test_segment_ending_exactly_on_a_boundary_has_no_empty_tail() -> None:
    rows = conversation(epoch(2024, 5, 6, 10, 0), talk=900)
    assert summary(rows) == [(epoch(2024, 5, 6, 10, 0), 900, 0, 0)]


def test_agent_status_slices_activity_time() -> None:
    """Available 09:50-10:20 (1800 s): 600 + 900 + 300."""
    rows = status(epoch(2024, 5, 6, 9, 50), 1800)
    assert summary(rows) == [
        (epoch(2024, 5, 6, 9, 45), 0, 0, 600),
        (epoch(2024, 5, 6, 10, 0), 0, 0, 900),
        (epoch(2024, 5, 6, 10, 15), 0, 0, 300),
    ]
    assert {r["activity"] for r in rows} == {"Available"}
    assert {r["kind"] for r in rows} == {"AGENT_STATUS"}


def test_zero_length_segment_gets_one_empty_slice() -> None:
    rows = conversation(epoch(2024, 5, 6, 10, 7), talk=0)
    assert summary(rows) == [(epoch(2024, 5, 6, 10, 0), 0, 0, 0)]


def test_other_kinds_are_not_sliced() -> None:
    for kind in (
        "QUEUE",
        "CONVERSATION_IN_PROGRESS",
        "MISSED_CONVERSATION",
        "AGENT_STATUS_IN_PROGRESS",
    ):
        rows = slice_segment(
            segment_id="SG3",
            kind=kind,
            started_at=0,
            talk_time=100,
            wrap_up_time=10,
            activity_time=100,
            activity=None,
            agent_id=None,
            tz=UTC_ZONE,
        )
        assert rows == []


def test_kathmandu_quarters_are_local() -> None:
    """UTC+5:45: local 10:05 is 04:20 UTC; its local quarter 10:00 starts at 04:15 UTC."""
    start = epoch(2024, 5, 6, 10, 5, tz=KATHMANDU)
    assert start == epoch(2024, 5, 6, 4, 20)
    assert quarter_start(start, KATHMANDU) == epoch(2024, 5, 6, 4, 15)
    rows = conversation(start, talk=40 * 60, tz=KATHMANDU)
    assert summary(rows) == [
        (epoch(2024, 5, 6, 4, 15), 600, 0, 0),
        (epoch(2024, 5, 6, 4, 30), 900, 0, 0),
        (epoch(2024, 5, 6, 4, 45), 900, 0, 0),
    ]


def test_new_york_spring_forward() -> None:
    """01:50 EST (06:50 UTC) + 30 min ends 03:20 EDT; the slices follow UTC quarters 06:45-07:15."""
    start = epoch(2024, 3, 10, 6, 50)
    assert datetime.fromtimestamp(start, NEW_YORK).strftime("%H:%M %Z") == "01:50 EST"
    rows = conversation(start, talk=1800, tz=NEW_YORK)
    assert summary(rows) == [
        (epoch(2024, 3, 10, 6, 45), 600, 0, 0),
        (epoch(2024, 3, 10, 7, 0), 900, 0, 0),
        (epoch(2024, 3, 10, 7, 15), 300, 0, 0),
    ]
    local = [datetime.fromtimestamp(r["interval_start"], NEW_YORK).strftime("%H:%M") for r in rows]
    assert local == ["01:45", "03:00", "03:15"]


def test_slice_segment_row_accepts_datetimes() -> None:
    row = {
        "segment_id": "SG9",
        "kind": "CONVERSATION",
        "started_at": datetime(2024, 5, 6, 10, 5, tzinfo=UTC),
        "talk_time": 2400,
        "wrap_up_time": None,
        "agent_id": "WK1",
    }
    assert [r["talk_time"] for r in slice_segment_row(row, UTC_ZONE)] == [600, 900, 900]


def test_parallel_conversations_by_hand() -> None:
    """Agent WK1: chat A 10:02-10:20, chat B 10:10-10:12, call C 10:40-10:41.

    Slice 10:00 overlaps A and B (2), 10:15 overlaps A (1), 10:30 overlaps C (1), 10:45 none.
    """
    t = epoch(2024, 5, 6, 10, 0)
    intervals = {
        "WK1": [(t + 120, t + 1200), (t + 600, t + 720), (t + 2400, t + 2460)],
        "WK2": [(t, t + 3600)],
    }
    slices = [
        {"agent_id": "WK1", "interval_start": t + 900 * i, "parallel_conversations": 0}
        for i in range(4)
    ]
    slices.append({"agent_id": None, "interval_start": t, "parallel_conversations": 9})
    fill_parallel_conversations(slices, intervals)
    assert [s["parallel_conversations"] for s in slices] == [2, 1, 1, 0, 0]


def test_busy_interval_of_a_zero_length_conversation_counts_its_own_slice() -> None:
    t = epoch(2024, 5, 6, 10, 15)
    index = BusyIndex({"WK1": [busy_interval(t, 0, 0)]})
    assert index.count("WK1", t, t + 900) == 1
    assert index.count("WK1", t - 900, t) == 0


# --- invariants ------------------------------------------------------------------------------

starts = st.integers(min_value=epoch(2020, 1, 1), max_value=epoch(2030, 1, 1))
durations = st.integers(min_value=0, max_value=6 * 3600)
zones = st.sampled_from(ZONES)


def check_common_invariants(rows: list[dict], started_at: int, end: int, tz: ZoneInfo) -> None:
    assert rows, "every sliced segment has at least one slice"
    assert rows[0]["interval_start"] == quarter_start(started_at, tz)
    for previous, current in itertools.pairwise(rows):
        assert current["interval_start"] == previous["interval_start"] + 900
    for i, row in enumerate(rows, start=1):
        assert row["order"] == i
        assert row["workload_id"] == f"{row['segment_id']}:{i}"
        assert 0 <= row["talk_time"] + row["wrap_up_time"] <= 900
        assert 0 <= row["activity_time"] <= 900
        local = datetime.fromtimestamp(row["interval_start"], tz)
        assert local.minute % 15 == 0 and local.second == 0
    if end > started_at:
        assert rows[-1]["interval_start"] < end <= rows[-1]["interval_start"] + 900
    else:
        assert len(rows) == 1


@settings(max_examples=300)
@given(start=starts, talk=durations, wrap=st.integers(0, 1800), tz=zones)
def test_conversation_slices_add_up(start: int, talk: int, wrap: int, tz: ZoneInfo) -> None:
    rows = conversation(start, talk, wrap, tz=tz)
    assert sum(r["talk_time"] for r in rows) == talk
    assert sum(r["wrap_up_time"] for r in rows) == wrap
    assert sum(r["activity_time"] for r in rows) == 0
    check_common_invariants(rows, start, start + talk + wrap, tz)


@settings(max_examples=300)
@given(start=starts, active=st.integers(0, 3 * 24 * 3600), tz=zones)
def test_agent_status_slices_add_up(start: int, active: int, tz: ZoneInfo) -> None:
    rows = status(start, active, tz=tz)
    assert sum(r["activity_time"] for r in rows) == active
    assert sum(r["talk_time"] + r["wrap_up_time"] for r in rows) == 0
    check_common_invariants(rows, start, start + active, tz)


@settings(max_examples=200)
@given(
    # Around the 2024 New York DST changes, where a local day has 23 or 25 hours.
    start=st.one_of(
        st.integers(epoch(2024, 3, 10, 4), epoch(2024, 3, 10, 9)),
        st.integers(epoch(2024, 11, 3, 3), epoch(2024, 11, 3, 8)),
    ),
    talk=durations,
    tz=st.sampled_from([NEW_YORK, KATHMANDU]),
)
def test_slices_across_dst_changes(start: int, talk: int, tz: ZoneInfo) -> None:
    rows = conversation(start, talk, 0, tz=tz)
    assert sum(r["talk_time"] for r in rows) == talk
    check_common_invariants(rows, start, start + talk, tz)


@given(t=starts, tz=zones)
def test_quarter_start_contains_t(t: int, tz: ZoneInfo) -> None:
    q = quarter_start(t, tz)
    assert q <= t < q + 900
    assert quarter_start(q, tz) == q


@settings(max_examples=200)
@given(
    intervals=st.lists(
        st.tuples(st.integers(0, 20_000), st.integers(0, 3_000)).map(
            lambda p: busy_interval(*p, 0)
        ),
        max_size=30,
    ),
    window_start=st.integers(0, 24_000).map(lambda s: s - s % 900),
)
def test_busy_index_matches_brute_force(
    intervals: list[tuple[int, int]], window_start: int
) -> None:
    window_end = window_start + 900
    expected = sum(1 for s, e in intervals if s < window_end and e > window_start)
    assert BusyIndex({"WK1": intervals}).count("WK1", window_start, window_end) == expected
