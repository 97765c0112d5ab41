"""Events to rows, without a database: facts per the spec, order tolerance and exact workload."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.derive import derive_task, status_segments
from warehouse.taskrouter import TaskRouterEvent, parse_event
from warehouse.workload import QUARTER_HOUR, slice_segment_row

ZONES = [ZoneInfo(z) for z in ("UTC", "Europe/London", "Asia/Kolkata", "America/St_Johns")]
T0 = 1_774_000_000


def _event(kind: str, at: int, **fields: Any) -> TaskRouterEvent:
    payload = {"EventType": kind, "Timestamp": at, "TaskSid": "WT1", **fields}
    payload.setdefault(
        "TaskAttributes",
        json.dumps({"direction": "inbound", "conversations": {"hold_time": 7}}),
    )
    return parse_event(payload)


def _lifecycle(start: int, wait: int, misses: list[int], ring: int, talk: int, wrap: int) -> list[
    TaskRouterEvent
]:  # fmt: skip
    """A call that waits, is missed by some agents, then is answered and wrapped up."""
    found = [
        _event("task.created", start),
        _event("task-queue.entered", start, TaskQueueName="Sales"),
    ]
    at = start + wait
    for n, missed_ring in enumerate(misses):
        res = {"ReservationSid": f"WRmiss{n}", "WorkerSid": f"WKmiss{n}"}
        found += [
            _event("reservation.created", at, **res),
            _event("reservation.timeout", at + missed_ring, **res),
        ]
        at += missed_ring
    res = {"ReservationSid": "WRok", "WorkerSid": "WKok"}
    accepted = at + ring
    found += [
        _event("reservation.created", at, **res),
        _event("reservation.accepted", accepted, **res),
        _event("reservation.wrapup", accepted + talk, **res),
        _event("reservation.completed", accepted + talk + wrap, **res),
        _event("task.completed", accepted + talk + wrap, Reason="Resolved"),
    ]
    return found


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(T0, T0 + 30 * 86400),
    wait=st.integers(0, 4000),
    misses=st.lists(st.integers(1, 60), max_size=3),
    ring=st.integers(0, 60),
    talk=st.integers(0, 7200),
    wrap=st.integers(0, 1800),
    zone=st.sampled_from(ZONES),
    order=st.randoms(use_true_random=False),
)
def test_any_arrival_order_gives_the_same_exact_segments_and_slices(
    start: int, wait: int, misses: list[int], ring: int, talk: int, wrap: int,
    zone: ZoneInfo, order: Any,
) -> None:  # fmt: skip
    events = _lifecycle(start, wait, misses, ring, talk, wrap)
    expected = derive_task("WT1", events, zone).segments
    shuffled = list(events)
    order.shuffle(shuffled)
    assert derive_task("WT1", shuffled, zone).segments == expected

    handled = next(r for r in expected if r["segment_id"] == "WRok")
    assert handled["kind"] == "CONVERSATION"
    assert (handled["talk_time"], handled["wrap_up_time"], handled["ring_time"]) == (
        talk,
        wrap,
        ring,
    )
    assert handled["queue_time"] == wait + sum(misses) + ring
    assert handled["hold_time"] == 7 and handled["outcome"] == "Resolved"
    missed = [r for r in expected if r["kind"] == "MISSED_CONVERSATION"]
    assert [r["ring_time"] for r in missed] == misses

    slices = slice_segment_row(handled, zone)
    assert sum(s["talk_time"] for s in slices) == talk
    assert sum(s["wrap_up_time"] for s in slices) == wrap
    for s in slices:
        local = datetime.fromtimestamp(s["interval_start"], zone)
        assert local.minute % 15 == 0 and local.second == 0
        assert s["talk_time"] + s["wrap_up_time"] <= QUARTER_HOUR


def test_queue_segments_record_moves_timeouts_and_abandonment() -> None:
    events = [
        _event("task-queue.entered", T0, TaskQueueName="Sales"),
        _event("task-queue.moved", T0 + 30, TaskQueueName="Billing"),
        _event("task-queue.timeout", T0 + 90),
        _event("task-queue.entered", T0 + 90, TaskQueueName="VIP"),
        _event("task.canceled", T0 + 100, TaskCanceledReason="Customer Hung Up"),
    ]
    rows = {r["segment_id"]: r for r in derive_task("WT1", events, ZoneInfo("UTC")).segments}
    assert [(r["queue"], r["queue_time"], r["conversation_attribute_1"]) for r in rows.values()][
        :3
    ] == [("Sales", 30, "Moved"), ("Billing", 60, "Timeout"), ("VIP", 10, None)]
    assert rows["WT1-Q3"]["abandoned"] == "YES" and rows["WT1-Q3"]["abandon_time"] == 10
    abandoned = rows["WT1-A"]
    assert (abandoned["kind"], abandoned["agent_id"], abandoned["abandoned_phase"]) == (
        "CONVERSATION",
        None,
        "Queue",
    )
    assert abandoned["outcome"] == "Customer Hung Up"


def test_customer_is_identified_by_the_spec_rules_in_order() -> None:
    def customer(attributes: dict[str, Any]) -> str:
        event = _event("task.created", T0, TaskAttributes=json.dumps(attributes))
        row = derive_task("WT1", [event], ZoneInfo("UTC")).customer
        assert row is not None
        return str(row["customer_id"])

    full = {"customers": {"external_id": "C1", "phone": "+1", "email": "a@b"}, "from": "+9"}
    assert customer(full) == "C1"
    assert customer({"customers": {"phone": "+1", "email": "a@b"}, "from": "+9"}) == "+1"
    assert customer({"customers": {"email": "a@b"}, "from": "+9"}) == "a@b"
    assert customer({"from": "+9", "to": "+8"}) == "+9"
    assert customer({"direction": "outbound", "from": "+9", "to": "+8"}) == "+8"
    assert customer({}) == "conversation:WT1"


def test_an_activity_update_closes_the_previous_activity() -> None:
    def update(at: int, activity: str, previous: str, spent: int) -> TaskRouterEvent:
        return parse_event(
            {"EventType": "worker.activity.update", "Timestamp": at, "WorkerSid": "WK1",
             "WorkerActivityName": activity, "WorkerPreviousActivityName": previous,
             "WorkerTimeInPreviousActivity": spent}
        )  # fmt: skip

    closed, open_row = status_segments(
        "WK1", [update(T0 + 600, "Break", "Available", 500), update(T0, "Available", "Offline", 60)],
        ZoneInfo("UTC"),
    )  # fmt: skip
    assert sorted((r["started_at"], r["activity"], r["activity_time"]) for r in closed) == [
        (T0 - 60, "Offline", 60),
        (T0 + 100, "Available", 500),
    ]
    assert sorted(r["segment_id"].rsplit("-", 1)[0] for r in closed) == [
        f"WK1-{(T0 - 60) * 1000}",
        f"WK1-{(T0 + 100) * 1000}",
    ]
    assert open_row is not None
    assert (open_row["started_at"], open_row["kind"], open_row["activity"]) == (
        T0 + 600,
        "AGENT_STATUS_IN_PROGRESS",
        "Break",
    )
    assert open_row["segment_id"].startswith(f"WK1-{(T0 + 600) * 1000}-")


def test_both_delivery_shapes_parse_to_the_same_event() -> None:
    callback = {
        "EventType": "reservation.accepted", "Sid": "EV1", "TimestampMs": "1774000000123",
        "TaskSid": "WT1", "ReservationSid": "WR1", "WorkerSid": "WK1",
        "TaskAttributes": '{"from": "+1"}', "TaskQueueName": "Sales",
    }  # fmt: skip
    cloud = {
        "type": "com.twilio.taskrouter.reservation.accepted",
        "id": "EV1",
        "time": "2026-03-20T09:46:40.123Z",
        "data": {"payload": {"task_sid": "WT1", "reservation_sid": "WR1", "worker_sid": "WK1",
                             "task_attributes": '{"from": "+1"}', "task_queue_name": "Sales",
                             "timestamp_ms": 1774000000123}},
    }  # fmt: skip
    assert parse_event(callback) == parse_event(cloud)
    assert parse_event(cloud).timestamp == 1774000000


def test_enum_attributes_outside_the_enum_do_not_reach_the_warehouse() -> None:
    attributes = {"direction": "sideways", "conversations": {"abandoned": "maybe"}}
    events = [
        _event(
            "task-queue.entered", T0, TaskQueueName="Sales", TaskAttributes=json.dumps(attributes)
        ),
        _event("task.canceled", T0 + 5, TaskAttributes=json.dumps(attributes)),
    ]
    rows = derive_task("WT1", events, ZoneInfo("UTC")).segments
    assert {(r["direction"], r["abandoned"]) for r in rows} == {("UNKNOWN", "YES")}
