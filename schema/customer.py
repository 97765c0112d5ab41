"""Customer: a person who contacted the center or whom it contacted."""

from __future__ import annotations

from datetime import date

import strawberry

from resolvers.metrics.dimensions import Dimension
from schema.base import Node, node_type
from schema.fields import connection_field
from schema.metrics import metrics_field

F = strawberry.field


@node_type
@strawberry.type(description="A person who contacted the center or whom it contacted.")
class Customer(Node):
    customer_id: str = F(description="Natural key of the customer.")
    name: str | None = F(description="Full name.")
    phone: str | None = F(description="Phone number (E.164).")
    email: str | None = F(description="E-mail address.")
    customer_link: str | None = F(description="Link to the customer in the CRM.")
    customer_attribute_1: str | None = F(description="Custom customer attribute 1.")
    customer_attribute_2: str | None = F(description="Custom customer attribute 2.")
    customer_attribute_3: str | None = F(description="Custom customer attribute 3.")
    acquisition_date: date | None = F(description="Date the customer was acquired.")
    category: str | None = F(description="Customer category.")
    customer_manager: str | None = F(description="Account manager of the customer.")
    gender: str | None = F(description="Gender.")
    market_segment: str | None = F(description="Market segment.")
    organization: str | None = F(description="Organization the customer belongs to.")
    year_of_birth: int | None = F(description="Year of birth.")
    region: str | None = F(description="Region.")
    country: str | None = F(description="Country.")
    state: str | None = F(description="State or province.")
    city: str | None = F(description="City.")
    zip: str | None = F(description="Postal code.")
    geo_location: str | None = F(description="Geographic location (latitude, longitude).")
    type: str | None = F(
        description="Customer type; `Agent` for the calling agent of an internal call."
    )
    acquisition_cost: float | None = F(description="Cost of acquiring the customer.")
    business_value: float | None = F(description="Business value of the customer.")

    conversations = connection_field(
        "Conversation", "Conversations with this customer.", owner="Customer", link="conversations"
    )
    segments = connection_field(
        "Segment", "Segments of this customer's conversations.", owner="Customer", link="segments"
    )
    metrics = metrics_field(
        "Customer", Dimension.CUSTOMER, "Metrics over this customer's segments."
    )
