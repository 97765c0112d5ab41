"""The fixed shape of the demo contact center: its organisation, queues, campaigns and word lists.

Kept apart from the simulation in `demo.py` so the simulation reads as behaviour, not as data.
"""

from __future__ import annotations

from dataclasses import dataclass

HIERARCHY_ARROW = " ▸ "


@dataclass(frozen=True)
class QueueProfile:
    """One queue: its share of inbound traffic, the departments staffing it, its campaigns."""

    name: str
    share: float
    departments: tuple[str, ...]
    campaigns: tuple[str, ...]
    priority: int = 0
    seniors_only: bool = False


QUEUES: tuple[QueueProfile, ...] = (
    QueueProfile("Support", 0.33, ("Support",), ("Fibre Rollout Support",)),
    QueueProfile("Sales", 0.24, ("Sales",), ("Spring Upgrade", "Broadband Switch")),
    QueueProfile("Billing", 0.20, ("Billing",), ("Paperless Billing",)),
    QueueProfile("Technical", 0.11, ("Support",), ()),
    QueueProfile("Retention", 0.07, ("Sales",), ("Win-back",)),
    QueueProfile("VIP", 0.05, ("Sales", "Support", "Billing"), (), priority=10, seniors_only=True),
)

DEPARTMENTS: tuple[tuple[str, str, float], ...] = (
    # (name, location, share of the staff)
    ("Support", "London", 0.45),
    ("Sales", "Manchester", 0.33),
    ("Billing", "London", 0.22),
)

# initiative → project → campaigns
INITIATIVES: dict[str, dict[str, tuple[str, ...]]] = {
    "Grow Revenue": {
        "Upsell Existing Customers": ("Spring Upgrade",),
        "New Customers": ("Broadband Switch",),
    },
    "Customer Experience": {
        "First Contact Resolution": ("Fibre Rollout Support",),
        "Keep Our Customers": ("Win-back",),
    },
    "Cost to Serve": {"Paperless": ("Paperless Billing",)},
}

CASE_TOPICS: dict[str, tuple[str, ...]] = {
    "Support": ("No broadband", "Slow connection", "Router replacement", "Engineer visit"),
    "Sales": ("Upgrade enquiry", "New line order", "Bundle quote", "Contract renewal"),
    "Billing": ("Invoice dispute", "Refund request", "Direct debit change", "Late payment"),
    "Technical": ("Fault escalation", "Line test", "Wi-Fi setup"),
    "Retention": ("Cancellation request", "Price match", "Loyalty offer"),
    "VIP": ("Account review", "Priority fault"),
}

IVR_PATHS: dict[str, tuple[str, ...]] = {
    "Support": ("Main menu ▸ Help with a service", "Main menu ▸ Help with a service ▸ Broadband"),
    "Sales": ("Main menu ▸ New services", "Main menu ▸ New services ▸ Upgrades"),
    "Billing": ("Main menu ▸ Bills and payments",),
    "Technical": ("Main menu ▸ Help with a service ▸ Report a fault",),
    "Retention": ("Main menu ▸ Leave or change contract",),
    "VIP": ("VIP line",),
}

OUTCOMES: dict[str, tuple[str, ...]] = {
    "Support": ("Resolved", "Resolved", "Engineer Booked", "Escalated", "Information Provided"),
    "Sales": ("Sale", "No Sale", "Quote Sent", "Callback Scheduled"),
    "Billing": ("Resolved", "Refund Issued", "Payment Plan", "Information Provided"),
    "Technical": ("Resolved", "Escalated", "Engineer Booked"),
    "Retention": ("Retained", "Cancelled", "Offer Sent"),
    "VIP": ("Resolved", "Escalated"),
}
PRODUCTIVE_OUTCOMES = frozenset(
    {"Resolved", "Engineer Booked", "Sale", "Refund Issued", "Payment Plan", "Retained"}
)

CHANNELS: tuple[tuple[str, str, float], ...] = (
    # (Flex channel label, TaskRouter task channel, share)
    ("Call", "voice", 0.70),
    ("Chat", "chat", 0.20),
    ("SMS", "sms", 0.10),
)

CENTER_CONTACTS = {"Call": "+44 20 7946 0000", "Chat": "web-chat", "SMS": "+44 7700 900000"}

# (activity, minutes after shift start, length in minutes) within an 8.5-hour shift
SHIFT_BREAKS: tuple[tuple[str, int, int], ...] = (
    ("Break", 120, 15),
    ("Lunch", 240, 30),
    ("Break", 390, 15),
)
SHIFT_MINUTES = 510
SHIFT_STARTS = ((7, 45), (8, 0), (8, 30), (9, 0), (10, 0), (11, 30))
AVAILABLE = "Available"
OFFLINE = "Offline"

# relative inbound traffic by local hour of a weekday: a morning peak and an afternoon one
HOURLY_TRAFFIC: tuple[float, ...] = (
    0.15, 0.1, 0.1, 0.1, 0.1, 0.15, 0.3, 1.2, 4.5, 7.5, 9.0, 8.5,
    6.5, 7.0, 8.0, 7.5, 6.0, 4.5, 3.0, 2.0, 0.8, 0.5, 0.3, 0.2,
)  # fmt: skip
WEEKEND_TRAFFIC = 0.35
BUSINESS_HOURS = (8, 20)  # local, weekdays

FIRST_NAMES = (
    "Olivia", "Noah", "Amelia", "Oliver", "Isla", "George", "Ava", "Arthur", "Mia", "Leo",
    "Grace", "Harry", "Freya", "Oscar", "Lily", "Jack", "Ella", "Charlie", "Ivy", "Muhammad",
    "Sophia", "Theo", "Evie", "Henry", "Poppy", "Alfie", "Aisha", "Jacob", "Zara", "Thomas",
    "Priya", "Tomasz", "Chloe", "Finley", "Ruby", "Ethan", "Maya", "Samuel", "Hannah", "Kacper",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Khan", "Nowak", "Lewis", "Hughes", "Edwards", "Ali", "Turner",
)  # fmt: skip
REGIONS = (
    # (region, country, state, city, zip prefix, geo location)
    ("Europe", "United Kingdom", "England", "London", "E1", "51.5072,-0.1276"),
    ("Europe", "United Kingdom", "England", "Manchester", "M1", "53.4808,-2.2426"),
    ("Europe", "United Kingdom", "England", "Leeds", "LS1", "53.8008,-1.5491"),
    ("Europe", "United Kingdom", "Scotland", "Glasgow", "G1", "55.8642,-4.2518"),
    ("Europe", "United Kingdom", "Wales", "Cardiff", "CF10", "51.4816,-3.1791"),
    ("Europe", "Ireland", "Leinster", "Dublin", "D01", "53.3498,-6.2603"),
)
MARKET_SEGMENTS = ("Consumer", "Consumer", "Consumer", "Small Business", "Enterprise")
CUSTOMER_CATEGORIES = ("Bronze", "Silver", "Gold", "Platinum")
LANGUAGES = (("English", 0.86), ("Polish", 0.05), ("Spanish", 0.05), ("French", 0.04))
PRODUCTS = ("Broadband", "Mobile", "TV", "Landline", "Bundle")

QUESTIONNAIRE = "Call Quality v2"
QUESTIONS: tuple[tuple[str, str, float, float], ...] = (
    # (category, question, maximum score, weight)
    ("Opening", "Greeted the customer and confirmed identity", 5, 1),
    ("Resolution", "Resolved the customer's need", 10, 2),
    ("Soft skills", "Showed empathy and kept a positive tone", 5, 1),
    ("Compliance", "Followed the data protection script", 5, 1),
)
ANSWERS = ("Poor", "Below expectations", "Meets expectations", "Good", "Excellent")
COMMENTS = (
    "Great rapport with the customer.",
    "Long silence while checking the account; narrate what you are doing.",
    "Offer the callback option earlier.",
    "Excellent de-escalation.",
    "Missed the upsell opportunity.",
    "Confirm the resolution before closing.",
)
