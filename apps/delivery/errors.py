from enum import StrEnum


class DeliveryErrorCode(StrEnum):
    INVALID_TRANSITION = "invalid_transition"  # a step the delivery cannot take now
    DELIVERY_CODE_INVALID = "delivery_code_invalid"  # not the code the buyer was sent
    DELIVERY_LOCKED = "delivery_locked"  # too many wrong codes: staff must reassign it
    CASH_MISMATCH = "cash_mismatch"  # not the amount to collect (or to hand in)
    NOT_ON_THE_WAY = "not_on_the_way"  # a location for a delivery that is not under way
    AGENT_INACTIVE = "agent_inactive"  # an agent who may not take deliveries now
    ALREADY_AN_AGENT = "already_an_agent"
