"""Every write of deliveries: the couriers, each step of a delivery, the cash they collect."""

from .agents import agent_create, agent_update
from .cash import AgentCash, cash_hand_in, cash_report
from .steps import (
    delivery_assign,
    delivery_complete,
    delivery_create_for_order,
    delivery_fail,
    delivery_location_update,
    delivery_pick_up,
    delivery_return,
    delivery_start,
)

__all__ = [
    "AgentCash",
    "agent_create",
    "agent_update",
    "cash_hand_in",
    "cash_report",
    "delivery_assign",
    "delivery_complete",
    "delivery_create_for_order",
    "delivery_fail",
    "delivery_location_update",
    "delivery_pick_up",
    "delivery_return",
    "delivery_start",
]
