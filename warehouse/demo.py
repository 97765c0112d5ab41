"""The demo contact center: a deterministic simulation, not uniform noise.

Customers arrive along a daily traffic curve (business-hours peaks, quiet nights and weekends),
wait in a queue for the first agent of the staffing departments who is on shift and free, and
give up when their patience runs out. Agents work shifts with breaks, so Agent Status segments,
queue times, occupancy and abandonment all follow from one schedule. Staffing scales with the
requested volume, so a million segments are as plausible as two thousand.

The demo ends at an instant, by default the moment it is built: nothing happens after it, and
what is under way then (customers waiting, agents talking or wrapping up, agents on a break) is
reported in progress, as the TaskRouter ingest would report it (`demo_now.py`).

The same seed, segment target, day count, end and time zone always give the same rows. Rows are
written one simulated day at a time (a day late, so the workload slices of a day see every
conversation that overlaps it), which keeps memory flat for large runs.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from warehouse import demo_catalog as cat
from warehouse import tables as t
from warehouse.demo_events import DemoEventWriter
from warehouse.demo_now import completed_at, contact_at
from warehouse.demo_tables import demo_runs
from warehouse.derive import SEGMENT_DEFAULTS, status_segment_id
from warehouse.engine import create_tables
from warehouse.workload import (
    BusyIndex,
    busy_interval,
    fill_parallel_conversations,
    slice_segment_row,
)

Row = dict[str, Any]
DEMO_VERSION = 2  # raise when the same parameters give other rows: `demo --refresh` rebuilds
NEVER = 2**62
SEGMENTS_PER_CONVERSATION = 2.1  # queue + conversation, plus transfers, misses and rejections
HANDLING_SECONDS = 380  # ring + talk + wrap-up of a typical call, for staffing


def _defaults(table: Table) -> Row:
    return {c.name: None for c in table.columns}


ASSESSMENT_DEFAULTS = _defaults(t.assessments)


@dataclass
class DemoStats:
    """Row counts of what the demo wrote."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + n

    def __str__(self) -> str:
        return ", ".join(f"{n:,} {table}" for table, n in self.counts.items())


@dataclass
class DayRows:
    """What one simulated day wrote (or, last, the agents' statuses), in table order."""

    cases: list[Row]
    conversations: list[Row]
    segments: list[Row]
    assessments: list[Row]
    workload: list[Row] = field(default_factory=list)
    until: int | None = None  # worker events before this instant go out with the day's events
    tasks: bool = True  # False for the agents' statuses, which the worker events carry


@dataclass
class Agent:
    """An agent's identity and schedule: when they are `Available` to take conversations."""

    row: Row
    senior: bool
    previous_team: tuple[str, str, int] | None  # (team, department, moved at) if they moved
    statuses: list[tuple[int, str]] = field(default_factory=list)  # (start, activity)
    available: list[tuple[int, int]] = field(default_factory=list)
    available_ends: list[int] = field(default_factory=list)

    @property
    def agent_id(self) -> str:
        return str(self.row["agent_id"])

    def team_at(self, instant: int) -> tuple[str, str]:
        if self.previous_team is not None and instant < self.previous_team[2]:
            return self.previous_team[0], self.previous_team[1]
        return self.row["team_id"], self.row["department_id"]

    def next_available(self, instant: int) -> int:
        """The first moment at or after `instant` the agent is Available (NEVER if none)."""
        i = bisect_right(self.available_ends, instant)
        if i == len(self.available_ends):
            return NEVER
        return max(instant, self.available[i][0])


class Router:
    """Longest-idle routing with a heap per queue: the agent who can answer first gets the task.

    Heap keys are lower bounds of when an agent can next answer. They only grow, because
    arrivals are routed in time order, so a stale key is fixed by pushing the agent back.
    """

    def __init__(self, agents: Sequence[Agent], queue_agents: dict[str, list[int]]) -> None:
        self.agents = agents
        self.free_at = [0] * len(agents)
        self.key = [a.next_available(0) for a in agents]
        self.heaps = {q: [(self.key[i], i) for i in members] for q, members in queue_agents.items()}
        for heap in self.heaps.values():
            heapq.heapify(heap)

    def earliest(self, queue: str, instant: int) -> tuple[int, int] | None:
        """(moment, agent index) of the first agent of `queue` who can answer at or after."""
        heap = self.heaps[queue]
        while heap:
            k, i = heap[0]
            if k >= NEVER:
                return None  # the heap's least key: nobody of this queue is Available any more
            if k != self.key[i]:
                if self.key[i] >= NEVER:
                    heapq.heappop(heap)
                else:
                    heapq.heapreplace(heap, (self.key[i], i))
                continue
            wanted = max(k, instant)
            moment = self.agents[i].next_available(wanted)
            if moment == wanted:
                return moment, i
            self.key[i] = moment
        return None

    def occupy(self, i: int, until: int) -> None:
        self.free_at[i] = max(self.free_at[i], until)
        self.key[i] = self.agents[i].next_available(self.free_at[i])


class Ids:
    """Twilio-shaped identifiers (`WK…`, `WT…`), drawn from the simulation's own generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def sid(self, prefix: str) -> str:
        return f"{prefix}{self.rng.getrandbits(128):032x}"


def _local(instant: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(instant, tz)


def _midnight(day: date, tz: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def demo_end(end: date | datetime, tz: ZoneInfo) -> int:
    """The instant the demo ends: a given moment, or the midnight after a given (local) day."""
    if isinstance(end, datetime):
        if end.tzinfo is None:
            raise ValueError("the demo's end needs a time zone")
        return int(end.timestamp())
    return _midnight(end + timedelta(days=1), tz)


def _hour_weight(hour: int, now: int) -> float:
    """The share of the hour starting at `hour` that lies before `now`."""
    return max(0.0, min(1.0, (now - hour) / 3600))


def _in_business_hours(local: datetime) -> bool:
    return local.weekday() < 5 and cat.BUSINESS_HOURS[0] <= local.hour < cat.BUSINESS_HOURS[1]


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


class DemoBuilder:
    """Simulates the contact center and hands over rows day by day."""

    def __init__(
        self, *, segments: int, seed: int, days: int, end: date | datetime, tz: ZoneInfo
    ) -> None:
        if segments < 1:
            raise ValueError("--segments must be at least 1")
        if days < 1:
            raise ValueError("--days must be at least 1")
        self.rng = random.Random(seed)
        self.ids = Ids(self.rng)
        self.tz = tz
        self.end = demo_end(end, tz)  # "now": nothing happens at or after it
        last = _local(self.end - 1, tz).date()
        self.days = [last - timedelta(days=days - 1 - i) for i in range(days)]
        self.start = _midnight(self.days[0], tz)
        day_weights = [
            (1.0 if d.weekday() < 5 else cat.WEEKEND_TRAFFIC) * self._traffic_share(d)
            for d in self.days
        ]
        conversations = max(1, round(segments / SEGMENTS_PER_CONVERSATION))
        busiest = round(conversations * max(day_weights) / sum(day_weights))
        self.busy = BusyIndex({})
        self.case_counter = 0
        self.new_cases: list[Row] = []
        self.open_cases: dict[tuple[str, str], str] = {}
        self._build_organisation(busiest)
        # agent status segments count towards the target too
        statuses = sum(len(a.statuses) for a in self.agents)
        conversations = max(1, round((segments - statuses) / SEGMENTS_PER_CONVERSATION))
        self.per_day = [round(conversations * w / sum(day_weights)) for w in day_weights]
        self._build_customers(conversations)

    # --- organisation ------------------------------------------------------------------------

    def _staff_size(self, busiest_day: int) -> int:
        peak_share = max(cat.HOURLY_TRAFFIC) / sum(cat.HOURLY_TRAFFIC)
        erlangs = busiest_day * peak_share * HANDLING_SECONDS / 3600
        # aim at 80% occupancy with about 70% of the staff on shift at the peak
        return max(18, math.ceil(erlangs / 0.8 / 0.7) + 4)

    def _build_organisation(self, busiest_day: int) -> None:
        rng = self.rng
        self.initiatives: list[Row] = []
        self.projects: list[Row] = []
        self.campaigns: list[Row] = []
        self.campaign_ids: dict[str, str] = {}
        for i, (initiative, projects) in enumerate(cat.INITIATIVES.items(), 1):
            initiative_id = f"IN{i:02d}"
            self.initiatives.append({"initiative_id": initiative_id, "name": initiative})
            for project, campaigns in projects.items():
                project_id = f"PR{len(self.projects) + 1:02d}"
                self.projects.append(
                    {"project_id": project_id, "name": project, "initiative_id": initiative_id}
                )
                for campaign in campaigns:
                    campaign_id = f"CP{len(self.campaigns) + 1:02d}"
                    self.campaign_ids[campaign] = campaign_id
                    self.campaigns.append(
                        {"campaign_id": campaign_id, "name": campaign, "project_id": project_id}
                    )

        staff = self._staff_size(busiest_day)
        self.departments: list[Row] = []
        self.teams: list[Row] = []
        self.agents: list[Agent] = []
        self.supervisors: list[Row] = []
        teams_of: dict[str, list[Row]] = {}
        for d, (department, location, share) in enumerate(cat.DEPARTMENTS, 1):
            department_id = f"DP{d:02d}"
            self.departments.append(
                {
                    "department_id": department_id,
                    "name": department,
                    "name_in_hierarchy": f"{location}{cat.HIERARCHY_ARROW}{department}",
                }
            )
            size = max(6, round(staff * share))
            team_count = max(2, round(size / 11))
            teams_of[department] = []
            for n in range(1, team_count + 1):
                name = f"{department} {n}"
                team = {
                    "team_id": f"TM{len(self.teams) + 1:02d}",
                    "name": name,
                    "name_in_hierarchy": cat.HIERARCHY_ARROW.join((location, department, name)),
                    "department_id": department_id,
                }
                self.teams.append(team)
                teams_of[department].append(team)
            for k in range(size):
                team = teams_of[department][k % team_count]
                self.agents.append(self._new_agent(team, location, lead=k < team_count))
        # a few agents moved team during the period: their old segments keep the old team
        for agent in rng.sample(self.agents, k=max(1, len(self.agents) // 10)):
            other = rng.choice([tm for tm in self.teams if tm["team_id"] != agent.row["team_id"]])
            moved = rng.randrange(self.start, self.end)
            agent.previous_team = (other["team_id"], other["department_id"], moved)
        leads = {a.row["team_id"]: a for a in self.agents if a.row["role"] == "Team Lead"}
        for agent in self.agents:
            agent.row["manager"] = leads[agent.row["team_id"]].row["full_name"]
        # team leads assess their teams (a supervisor may also be an agent); QA analysts help
        self.supervisor_of_team = {team_id: lead.agent_id for team_id, lead in leads.items()}
        for lead in leads.values():
            row = lead.row
            self.supervisors.append(
                {"supervisor_id": lead.agent_id, "name": row["full_name"], "email": row["email"]}
            )
        for n in range(1, 3):
            first, last = rng.choice(cat.FIRST_NAMES), rng.choice(cat.LAST_NAMES)
            self.supervisors.append(
                {
                    "supervisor_id": f"QA{n:02d}",
                    "name": f"{first} {last}",
                    "email": f"{first}.{last}.qa@example.com".lower(),
                }
            )
        self.quality_analysts = [s["supervisor_id"] for s in self.supervisors[-2:]]
        self.queue_agents: dict[str, list[int]] = {}
        for queue in cat.QUEUES:
            self.queue_agents[queue.name] = [
                i
                for i, a in enumerate(self.agents)
                if self._department_name(a) in queue.departments
                and (a.senior or not queue.seniors_only)
            ]
        for agent in self.agents:
            self._schedule(agent)
        self.router = Router(self.agents, self.queue_agents)
        self.agent_index = {a.agent_id: i for i, a in enumerate(self.agents)}

    def _department_name(self, agent: Agent) -> str:
        return next(
            d["name"] for d in self.departments if d["department_id"] == agent.row["department_id"]
        )

    def _new_agent(self, team: Row, location: str, *, lead: bool) -> Agent:
        rng = self.rng
        n = len(self.agents) + 1
        first, last = rng.choice(cat.FIRST_NAMES), rng.choice(cat.LAST_NAMES)
        senior = lead or rng.random() < 0.25
        joined = self.days[0] - timedelta(days=rng.randrange(30, 1500))
        deleted = not lead and rng.random() < 0.03
        row: Row = {
            "agent_id": self.ids.sid("WK"),
            "external_agent_id": f"A{1000 + n}",
            "full_name": f"{first} {last}",
            "email": f"{first}.{last}{n}@example.com".lower(),
            "phone": f"+44 161 496 {n:04d}",
            "location": location,
            "manager": None,
            "role": "Team Lead" if lead else ("Senior Agent" if senior else "Agent"),
            "state": "Deleted" if deleted else "Active",
            "agent_attribute_1": "Tier 3" if senior else rng.choice(("Tier 1", "Tier 2")),
            "agent_attribute_2": rng.choice(
                ("English", "English", "English, Polish", "English, Spanish")
            ),
            "agent_attribute_3": rng.choice(("Full time", "Full time", "Full time", "Part time")),
            "date_joined": joined,
            "date_left": self.days[-1] - timedelta(days=rng.randrange(0, len(self.days)))
            if deleted
            else None,
            "team_id": team["team_id"],
            "department_id": team["department_id"],
        }
        return Agent(row, senior, None)

    def _schedule(self, agent: Agent) -> None:
        """Shifts with breaks on most weekdays and some weekend days; Offline otherwise."""
        rng = self.rng
        part_time = agent.row["agent_attribute_3"] == "Part time"
        usual_start = rng.choice(cat.SHIFT_STARTS)
        statuses: list[tuple[int, str]] = [(self.start, cat.OFFLINE)]
        left: date | None = agent.row["date_left"]
        for day in self.days:
            weekday = day.weekday() < 5
            if (left is not None and day >= left) or rng.random() > (0.92 if weekday else 0.3):
                continue
            hour, minute = usual_start if rng.random() < 0.7 else rng.choice(cat.SHIFT_STARTS)
            begin = int(
                datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz).timestamp()
            )
            length = cat.SHIFT_MINUTES if not part_time else 300
            events = [(begin, cat.AVAILABLE)]
            for activity, offset, minutes in cat.SHIFT_BREAKS:
                if offset + minutes >= length:
                    continue
                jitter = rng.randrange(-10, 11) * 60
                events.append((begin + offset * 60 + jitter, activity))
                events.append((begin + (offset + minutes) * 60 + jitter, cat.AVAILABLE))
            if rng.random() < 0.12:
                slot = begin + 300 * 60 if length > 360 else begin + 60 * 60
                events += [
                    (slot, rng.choice(("Meeting", "Training"))),
                    (slot + 3600, cat.AVAILABLE),
                ]
            events.append((begin + length * 60 + rng.randrange(0, 10) * 60, cat.OFFLINE))
            statuses.extend(sorted(events))
        # merge repeats (Offline overnight) and keep what lies in the period
        merged: list[tuple[int, str]] = []
        for start, activity in statuses:
            if start >= self.end:
                break
            if merged and merged[-1][0] == start:
                merged.pop()  # two changes at one moment (a meeting over a break): the later wins
            if merged and merged[-1][1] == activity:
                continue
            merged.append((start, activity))
        agent.statuses = merged
        bounds = [*(s for s, _ in merged[1:]), self.end]
        agent.available = [
            (start, stop)
            for (start, activity), stop in zip(merged, bounds, strict=True)
            if activity == cat.AVAILABLE and stop > start
        ]
        agent.available_ends = [stop for _, stop in agent.available]

    def _build_customers(self, conversations: int) -> None:
        rng = self.rng
        self.customers: list[Row] = []
        for n in range(max(40, conversations // 3)):
            first, last = rng.choice(cat.FIRST_NAMES), rng.choice(cat.LAST_NAMES)
            region, country, state, city, zip_prefix, geo = rng.choice(cat.REGIONS)
            business = rng.random() < 0.2
            self.customers.append(
                {
                    "customer_id": f"CU{n + 1:07d}",
                    "name": f"{first} {last}",
                    "phone": f"+44 7700 {n:06d}",
                    "email": f"{first}.{last}.{n}@mail.example".lower()
                    if rng.random() < 0.8
                    else None,
                    "customer_link": f"https://crm.example.com/customers/CU{n + 1:07d}",
                    "customer_attribute_1": rng.choice(cat.PRODUCTS),
                    "customer_attribute_2": rng.choice(("Paper bill", "Paperless")),
                    "customer_attribute_3": rng.choice(("Direct debit", "Card", "Invoice")),
                    "acquisition_date": self.days[0] - timedelta(days=rng.randrange(1, 3650)),
                    "category": rng.choice(cat.CUSTOMER_CATEGORIES),
                    "customer_manager": rng.choice(cat.FIRST_NAMES)
                    + " "
                    + rng.choice(cat.LAST_NAMES)
                    if business
                    else None,
                    "gender": rng.choice(("Female", "Male", "Unknown")),
                    "market_segment": rng.choice(cat.MARKET_SEGMENTS),
                    "organization": f"{last} & Co" if business else None,
                    "year_of_birth": rng.randrange(1945, 2006),
                    "region": region,
                    "country": country,
                    "state": state,
                    "city": city,
                    "zip": f"{zip_prefix} {rng.randrange(1, 9)}{rng.choice('ABDEFGHJ')}Q",
                    "geo_location": geo,
                    "type": "Business" if business else "Consumer",
                    "acquisition_cost": round(rng.uniform(20, 400), 2),
                    "business_value": round(rng.uniform(100, 8000), 2),
                }
            )

    def _customer(self) -> Row:
        # a skewed pick: some customers call often, most rarely
        return self.customers[int(len(self.customers) * self.rng.random() ** 1.7)]

    # --- traffic ----------------------------------------------------------------------------

    def _hours(self, day: date, until: int) -> list[tuple[int, float]]:
        """(start, relative traffic) of the day's local hours before `until` (DST days too)."""
        begin, end = _midnight(day, self.tz), _midnight(day + timedelta(days=1), self.tz)
        return [
            (h, cat.HOURLY_TRAFFIC[_local(h, self.tz).hour] * _hour_weight(h, until))
            for h in range(begin, min(end, until), 3600)
        ]

    def _traffic_share(self, day: date) -> float:
        """The share of a whole day's traffic that arrives before the end (1 for past days)."""
        whole = sum(w for _, w in self._hours(day, NEVER))
        return sum(w for _, w in self._hours(day, self.end)) / whole

    def arrivals(self, day_index: int) -> list[int]:
        """This day's arrival instants before the end, along the local hourly traffic curve."""
        day = self.days[day_index]
        hours = self._hours(day, self.end)
        factor = 1.0 if day.weekday() < 5 else cat.WEEKEND_TRAFFIC
        picked = self.rng.choices(
            [h for h, _ in hours], weights=[w * factor for _, w in hours],
            k=self.per_day[day_index],
        )  # fmt: skip
        return sorted(h + self.rng.randrange(min(3600, self.end - h)) for h in picked)

    def simulate_day(self, day_index: int) -> tuple[list[Row], list[Row], list[Row]]:
        """(conversations, segments, assessments) of the customers arriving on this day."""
        conversations: list[Row] = []
        segments: list[Row] = []
        assessments: list[Row] = []
        for arrival in self.arrivals(day_index):
            contact = self._contact(arrival)
            if contact is None:
                continue  # nothing of it had happened by the end
            conversation, rows = contact
            conversations.append(conversation)
            segments.extend(rows)
            assessments.extend(self._assess(rows))
        return conversations, segments, assessments

    def _contact(self, arrival: int) -> tuple[Row, list[Row]] | None:
        """One customer contact as reported at the end: its conversation row and its segments
        in order; None when nothing of it had happened by then."""
        rng = self.rng
        channel, task_channel = _pick(rng, [((c, tc), w) for c, tc, w in cat.CHANNELS])
        local = _local(arrival, self.tz)
        business = _in_business_hours(local)
        outbound = business and channel == "Call" and rng.random() < 0.12
        if outbound:
            queue = cat.QUEUES[1] if rng.random() < 0.7 else cat.QUEUES[4]
            # the dialer calls only when an agent of the queue can take the call
            outbound = self.router.earliest(queue.name, arrival) is not None
        if not outbound:
            queue = _pick(rng, [(q, q.share) for q in cat.QUEUES])
        customer = self._customer()
        campaign_id = None
        if queue.campaigns and rng.random() < 0.7:
            campaign_id = self.campaign_ids[rng.choice(queue.campaigns)]
        cases_before = len(self.new_cases)
        case_id = (
            self._case(customer["customer_id"], campaign_id, queue.name) if campaign_id else None
        )
        prefix = {"Call": "CA", "Chat": "CH", "SMS": "SM"}[channel]
        conversation_id = self.ids.sid(prefix)
        shared: Row = {
            "conversation_id": conversation_id,
            "customer_id": customer["customer_id"],
            "communication_channel": channel,
            "direction": "OUTBOUND" if outbound else "INBOUND",
            "initiated_by": ("Dialer" if rng.random() < 0.6 else "Agent")
            if outbound
            else "Customer",
            "external_contact": cat.CENTER_CONTACTS[channel],
            "language": _pick(rng, cat.LANGUAGES),
            "conversation_attribute_2": rng.choice(cat.PRODUCTS),
            "conversation_attribute_3": customer["category"],
            "priority": queue.priority,
        }
        if channel == "Call" and not outbound:
            shared["ivr_path"] = rng.choice(cat.IVR_PATHS[queue.name])
            shared["ivr_time"] = rng.randrange(8, 75)
        task = _Task(self, shared, task_channel, business)
        if outbound:
            task.outbound(queue, arrival)
        else:
            task.inbound(queue, arrival, first=True)
        rows = contact_at(task.rows, self.end)
        if not rows:
            if len(self.new_cases) > cases_before:  # its case was opened for it: not yet either
                self.open_cases.pop((customer["customer_id"], str(campaign_id)), None)
                self.new_cases.pop()
            return None
        # `precededBy` runs in (startedAt, segmentId) order across the conversation's tasks,
        # as the ingest links them
        for previous, row in pairwise(
            sorted(rows, key=lambda r: (r["started_at"], r["segment_id"]))
        ):
            row["preceded_by_id"] = previous["segment_id"]
        ends = [r["started_at"] + (r["talk_time"] or 0) + (r["wrap_up_time"] or 0) for r in rows]
        conversation = {
            "conversation_id": conversation_id,
            "direction": shared["direction"],
            "started_at": min(r["started_at"] for r in rows),
            "ended_at": max(ends),
            "customer_id": customer["customer_id"],
            "case_id": case_id,
            "campaign_id": campaign_id,
        }
        return conversation, rows

    def _case(self, customer_id: str, campaign_id: str, queue: str) -> str | None:
        if self.rng.random() > 0.55:
            return None
        key = (customer_id, campaign_id)
        if key in self.open_cases and self.rng.random() < 0.6:
            return self.open_cases[key]
        self.case_counter += 1
        case_id = f"CS{self.case_counter:07d}"
        topic = self.rng.choice(cat.CASE_TOPICS[queue])
        self.new_cases.append(
            {
                "case_id": case_id,
                "name": f"{topic} #{self.case_counter}",
                "campaign_id": campaign_id,
            }
        )
        self.open_cases[key] = case_id
        return case_id

    def _assess(self, rows: list[Row]) -> list[Row]:
        """Supervisors score some handled segments and comment on a few more."""
        rng = self.rng
        found: list[Row] = []
        for row in rows:
            if row["kind"] != "CONVERSATION" or row["agent_id"] is None:
                continue
            draw = rng.random()
            if draw > 0.09:
                continue
            created = completed_at(row) + rng.randrange(600, 2 * 86400)
            if created >= self.end:
                continue  # the supervisor has not got to it yet
            supervisor = (
                self.supervisor_of_team.get(row["handling_team_id"])
                if rng.random() < 0.7
                else rng.choice(self.quality_analysts)
            )
            base = ASSESSMENT_DEFAULTS | {
                "segment_id": row["segment_id"],
                "agent_id": row["agent_id"],
                "supervisor_id": supervisor,
                "questionnaire": cat.QUESTIONNAIRE,
                "created_at": created,
            }
            if draw < 0.06:
                skill = rng.uniform(0.45, 1.0)
                for category, question, maximum, weight in cat.QUESTIONS:
                    score = float(max(0, min(maximum, round(maximum * rng.gauss(skill, 0.15)))))
                    found.append(
                        base
                        | {
                            "assessment_id": self.ids.sid("AS"),
                            "type": "ASSESSMENT",
                            "category": category,
                            "question": question,
                            "answer": cat.ANSWERS[min(4, int(score / maximum * 5))],
                            "score": score,
                            "score_max": float(maximum),
                            "score_percentage": round(score / maximum * 100, 2),
                            "weight": float(weight),
                        }
                    )
            else:
                found.append(
                    base
                    | {
                        "assessment_id": self.ids.sid("AS"),
                        "type": "COMMENT",
                        "comment": rng.choice(cat.COMMENTS),
                        "offset": rng.randrange(0, max(1, row["talk_time"] or 1)),
                    }
                )
        return found

    def agent_status_segments(self) -> list[Row]:
        """Every agent's activity intervals; the last one is still in progress at the end."""
        rows: list[Row] = []
        for agent in self.agents:
            bounds = [*(s for s, _ in agent.statuses[1:]), None]
            for (start, activity), stop in zip(agent.statuses, bounds, strict=True):
                team_id, department_id = agent.team_at(start)
                rows.append(
                    SEGMENT_DEFAULTS
                    | {
                        "segment_id": status_segment_id(
                            agent.agent_id,
                            start * 1000,
                            activity,
                            None if stop is None else stop - start,
                        ),
                        "kind": "AGENT_STATUS" if stop is not None else "AGENT_STATUS_IN_PROGRESS",
                        "activity": activity,
                        "activity_time": stop - start if stop is not None else None,
                        "started_at": start,
                        "time_in_seconds": _seconds_of_day(_local(start, self.tz)),
                        "agent_id": agent.agent_id,
                        "handling_team_id": team_id,
                        "handling_department_id": department_id,
                    }
                )
        return rows

    def batches(self) -> Iterator[DayRows]:
        """Every row in writing order: the days (each once the next is simulated, so the
        workload slices see every conversation overlapping them), then the agent statuses."""
        pending: DayRows | None = None
        for day_index in range(len(self.days)):
            self.new_cases = []
            conversations, rows, assessments = self.simulate_day(day_index)
            if pending is not None:
                pending.workload = self.workload(pending.segments)
                pending.until = _midnight(self.days[day_index], self.tz)
                yield pending
            pending = DayRows(self.new_cases, conversations, rows, assessments)
        if pending is not None:
            pending.workload = self.workload(pending.segments)
            yield pending
        statuses = self.agent_status_segments()
        yield DayRows([], [], statuses, [], self.workload(statuses), tasks=False)

    def workload(self, segments: list[Row]) -> list[Row]:
        slices = [s for row in segments for s in slice_segment_row(row, self.tz)]
        fill_parallel_conversations(slices, self.busy)
        return slices


def _seconds_of_day(local: datetime) -> int:
    return local.hour * 3600 + local.minute * 60 + local.second


class _Task:
    """One customer's path through queues and agents, appending segments as it goes."""

    def __init__(
        self, builder: DemoBuilder, shared: Row, task_channel: str, business: bool
    ) -> None:
        self.b = builder
        self.rng = builder.rng
        self.shared = shared
        self.chat = task_channel != "voice"
        self.business = business
        self.rows: list[Row] = []
        self.order = 0
        self.task_sid = builder.ids.sid("WT")
        self.source: str | None = None  # the queue a transferred leg came from

    def _segment(self, kind: str, started_at: int, **values: Any) -> Row:
        local = _local(started_at, self.b.tz)
        row = (
            SEGMENT_DEFAULTS
            | self.shared
            | {
                "segment_id": values.pop("segment_id", None) or self.b.ids.sid("WR"),
                "external_id": self.task_sid,
                "kind": kind,
                "started_at": started_at,
                "time_in_seconds": _seconds_of_day(local),
                "in_business_hours": self.business,
                "source": self.source,
                "virtual": kind != "CONVERSATION",
            }
        )
        row.update(values)
        if row["agent_id"] is not None:
            agent = self.b.agents[self.b.agent_index[row["agent_id"]]]
            row["handling_team_id"], row["handling_department_id"] = agent.team_at(started_at)
        self.rows.append(row)
        return row

    def inbound(self, queue: cat.QueueProfile, entered: int, *, first: bool) -> None:
        """Wait in `queue` from `entered`; reach an agent or give up."""
        rng = self.rng
        patience = rng.expovariate(1 / (600 if self.chat else 150)) * (1 if first else 3)
        queued = sum(r["kind"] == "QUEUE" and r["external_id"] == self.task_sid for r in self.rows)
        queue_row = self._segment(
            "QUEUE",
            entered,
            segment_id=f"{self.task_sid}-Q{queued + 1}",
            queue=queue.name,
            workflow="VIP Routing" if queue.priority else "Inbound Routing",
        )
        moment = entered
        while True:
            found = self.b.router.earliest(queue.name, moment)
            ring = rng.randrange(4, 22)
            if found is None or found[0] + ring - entered > patience:
                self._abandon(queue_row, entered, int(patience))
                return
            answer_at, agent_index = found
            failure = rng.random()
            if failure < 0.075:
                kind, ring = (
                    ("MISSED_CONVERSATION", rng.randrange(15, 31))
                    if failure < 0.05
                    else ("REJECTED_CONVERSATION", rng.randrange(2, 9))
                    if failure < 0.07
                    else ("REVOKED_CONVERSATION", rng.randrange(5, 15))
                )
                self._segment(
                    kind,
                    answer_at,
                    agent_id=self.b.agents[agent_index].agent_id,
                    queue=queue.name,
                    ring_time=ring,
                    queue_time=answer_at - entered,
                    outcome={
                        "MISSED_CONVERSATION": "Reservation Timeout",
                        "REJECTED_CONVERSATION": "Rejected",
                    }.get(kind, "Rescinded"),
                    workflow=queue_row["workflow"],
                )
                self.b.router.occupy(agent_index, answer_at + ring)
                moment = answer_at + ring
                continue
            accepted = answer_at + ring
            queue_row["queue_time"] = accepted - entered
            queue_row["destination"] = None
            self._handle(queue, agent_index, entered, answer_at, accepted)
            return

    def _abandon(self, queue_row: Row, entered: int, patience: int) -> None:
        rng = self.rng
        follow_up = not self.business and rng.random() < 0.5
        phase = ("Voicemail" if not self.chat else "Callback Request") if follow_up else "Queue"
        status = "FOLLOW_UP" if follow_up else "YES"
        queue_row.update(
            abandoned=status, abandoned_phase=phase, abandon_time=patience, queue_time=patience,
            outcome="Customer Hung Up",
        )  # fmt: skip
        self.order += 1
        self._segment(
            "CONVERSATION",
            entered + patience,
            segment_id=f"{self.task_sid}-A",
            queue=queue_row["queue"],
            abandoned=status,
            abandoned_phase=phase,
            abandon_time=patience,
            queue_time=patience,
            talk_time=0,
            wrap_up_time=0,
            segment_order=self.order,
            hang_up_by="Customer",
            outcome="Customer Hung Up",
            service_level="Short Abandoned" if patience <= 5 else "Failed",
            workflow=queue_row["workflow"],
        )

    def _durations(self) -> dict[str, int]:
        rng = self.rng
        mean = 720 if self.chat else 290
        talk = max(20, int(rng.lognormvariate(math.log(mean), 0.55)))
        agent_talk = int(talk * rng.uniform(0.35, 0.5))
        customer_talk = int(talk * rng.uniform(0.3, 0.45))
        crosstalk = int(talk * rng.uniform(0.0, 0.04))
        facts = {
            "talk_time": talk,
            "wrap_up_time": rng.randrange(10, 120),
            "hold_time": rng.randrange(10, max(11, min(240, talk // 2)))
            if not self.chat and rng.random() < 0.22
            else 0,
            "agent_talk_time": agent_talk,
            "customer_talk_time": customer_talk,
            "crosstalk_time": crosstalk,
            "silence_time": max(0, talk - agent_talk - customer_talk + crosstalk),
            "longest_talk_by_agent": int(agent_talk * rng.uniform(0.1, 0.4)),
            "longest_talk_by_customer": int(customer_talk * rng.uniform(0.1, 0.4)),
            "longest_silence_before_agent": rng.randrange(1, 30),
            "longest_silence_before_customer": rng.randrange(1, 20),
        }
        if self.chat:
            facts["first_response_time"] = rng.randrange(5, 90)
            facts["average_response_time"] = rng.randrange(15, 120)
            facts["focus_time"] = int(talk * rng.uniform(0.4, 0.8))
        return facts

    def _handle(
        self, queue: cat.QueueProfile, agent_index: int, entered: int, answer_at: int, accepted: int
    ) -> None:
        rng = self.rng
        agent = self.b.agents[agent_index]
        facts = self._durations()
        transfer = not self.chat and rng.random() < 0.08
        outcome = rng.choice(cat.OUTCOMES[queue.name])
        queue_time = accepted - entered
        self.order += 1
        hang_up = (
            rng.choice(("Cold Transfer", "Warm Transfer"))
            if transfer
            else _pick(rng, [("Customer", 0.55), ("Agent", 0.4), ("Unknown", 0.05)])
        )
        target = rng.choice([q for q in cat.QUEUES if q.name != queue.name and not q.seniors_only])
        row = self._segment(
            "CONVERSATION",
            accepted,
            agent_id=agent.agent_id,
            queue=queue.name,
            queue_time=queue_time,
            ring_time=accepted - answer_at,
            segment_order=self.order,
            hang_up_by=hang_up,
            destination=target.name if transfer else None,
            outcome=outcome,
            productive=outcome in cat.PRODUCTIVE_OUTCOMES,
            service_level="Compliant" if queue_time < 60 else "Failed",
            workflow="VIP Routing" if queue.priority else "Inbound Routing",
            segment_link=None
            if self.chat
            else f"https://recordings.example.com/{self.task_sid}-{self.order}.wav",
            content=f"{self.shared['conversation_attribute_2']}: {outcome.lower()}",
            conversation_measure_1=float(rng.randrange(1, 6)) if rng.random() < 0.3 else None,
            conversation_measure_2=round(rng.uniform(10, 90), 2) if outcome == "Sale" else None,
            **facts,
        )
        self._occupy(agent_index, row)
        if transfer:
            # a transfer is a new TaskRouter task in the same conversation
            left_at = accepted + row["talk_time"]
            self.task_sid, self.source = self.b.ids.sid("WT"), queue.name
            self.inbound(target, left_at, first=False)

    def _occupy(self, agent_index: int, row: Row) -> None:
        start, end = busy_interval(row["started_at"], row["talk_time"], row["wrap_up_time"])
        if completed_at(row) < self.b.end:  # a conversation still in progress has no slices yet
            self.b.busy.add(row["agent_id"], start, end)
        # a chat agent handles about three conversations at once
        self.b.router.occupy(agent_index, start + (end - start) // 3 if self.chat else end)

    def outbound(self, queue: cat.QueueProfile, wanted: int) -> None:
        """An agent (or the dialer for them) calls the customer; no queue wait."""
        rng = self.rng
        found = self.b.router.earliest(queue.name, wanted)
        dialed = found[0] if found is not None else wanted
        ring = rng.randrange(5, 26)
        agent_index = found[1] if found is not None else self.b.queue_agents[queue.name][0]
        outcome = rng.choice(cat.OUTCOMES[queue.name])
        self.order += 1
        row = self._segment(
            "CONVERSATION",
            dialed + ring,
            agent_id=self.b.agents[agent_index].agent_id,
            queue=queue.name,
            queue_time=0,
            ring_time=ring,
            segment_order=1,
            hang_up_by=_pick(rng, [("Customer", 0.6), ("Agent", 0.4)]),
            outcome=outcome,
            productive=outcome in cat.PRODUCTIVE_OUTCOMES,
            service_level="Not Applicable",
            workflow="Outbound Dialer",
            segment_link=f"https://recordings.example.com/{self.task_sid}-1.wav",
            content=f"{self.shared['conversation_attribute_2']}: {outcome.lower()}",
            **self._durations(),
        )
        self._occupy(agent_index, row)


async def _insert(conn: Any, table: Table, rows: list[Row], chunk: int = 5000) -> None:
    for i in range(0, len(rows), chunk):
        await conn.execute(table.insert(), rows[i : i + chunk])


async def build_demo(
    engine: AsyncEngine,
    *,
    segments: int,
    seed: int,
    days: int,
    end: date | datetime,
    tz: ZoneInfo,
    progress: bool = False,
    events_out: TextIO | None = None,
) -> DemoStats:
    """Write the demo contact center into an empty warehouse; refuse one that has segments.

    `end` is the instant the demo ends (a `date`: the midnight after it, local time). With
    `events_out`, the same traffic is also written there as TaskRouter events (JSON Lines).
    """
    await create_tables(engine)
    async with engine.connect() as conn:
        existing = (await conn.execute(select(func.count()).select_from(t.segments))).scalar_one()
    if existing:
        raise ValueError(
            f"the database already has {existing:,} segments; the demo writes only into an "
            "empty warehouse (point --database at a new file)"
        )
    builder = DemoBuilder(segments=segments, seed=seed, days=days, end=end, tz=tz)
    stats = DemoStats()
    bar = tqdm(total=segments, unit="seg", disable=not progress, desc="demo")

    async def write(table: Table, rows: list[Row]) -> None:
        async with engine.begin() as conn:
            await _insert(conn, table, rows)
        stats.add(table.name, len(rows))
        if table is t.segments:
            bar.update(len(rows))

    for table, rows in (
        (t.initiatives, builder.initiatives),
        (t.projects, builder.projects),
        (t.campaigns, builder.campaigns),
        (t.departments, builder.departments),
        (t.teams, builder.teams),
        (t.agents, [a.row for a in builder.agents]),
        (t.customers, builder.customers),
        (t.supervisors, builder.supervisors),
        (t.queues, [{"name": q.name} for q in cat.QUEUES]),
    ):
        await write(table, rows)

    try:
        await _write_traffic(builder, write, events_out, seed=seed, segments=segments, days=days)
    except BaseException:
        bar.leave = False  # an interrupted build says so in one line, without a half bar
        raise
    finally:
        bar.close()
    await _gather_statistics(engine)
    return stats


async def _gather_statistics(engine: AsyncEngine) -> None:
    """PostgreSQL plans from table statistics, which a bulk load leaves empty until autovacuum
    comes by: without them it expected 11 rows of a day's 23,000 and chose plans for that. SQLite
    keeps the plans the gateway's statements were shaped for (no `sqlite_stat1`)."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


async def _write_traffic(
    builder: DemoBuilder, write: Any, events_out: TextIO | None, **parameters: int
) -> None:
    """The days' rows (and events), then the record `demo --refresh` compares with."""
    writer = event_writer(builder, events_out) if events_out is not None else None
    for day in builder.batches():
        for table, rows in (
            (t.cases, day.cases),
            (t.conversations, day.conversations),
            (t.segments, day.segments),
            (t.assessments, day.assessments),
            (t.workload, day.workload),
        ):
            await write(table, rows)
        if writer is not None and day.tasks:
            writer.add_cases(day.cases)
            writer.write_day(day.segments, day.conversations, day.until)
    record = parameters | {
        "version": DEMO_VERSION, "time_zone": builder.tz.key, "ended_at": builder.end,
        "built_at": int(time.time()),
    }  # fmt: skip
    await write(demo_runs, [record])


def event_writer(builder: DemoBuilder, stream: TextIO) -> DemoEventWriter:
    """A writer that knows the demo's organisation, campaigns and customers."""
    projects = {p["project_id"]: p for p in builder.projects}
    initiatives = {i["initiative_id"]: i["name"] for i in builder.initiatives}
    hierarchy = {
        c["campaign_id"]: {
            "campaign": c["name"],
            "project": projects[c["project_id"]]["name"],
            "initiative": initiatives[projects[c["project_id"]]["initiative_id"]],
        }
        for c in builder.campaigns
    }
    writer = DemoEventWriter(stream, hierarchy, builder.customers)
    writer.add_workers(
        builder.agents,
        {tm["team_id"]: tm for tm in builder.teams},
        {d["department_id"]: d for d in builder.departments},
        builder.start,
    )
    return writer
