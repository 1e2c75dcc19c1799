"""The proof-of-delivery code: six digits the buyer is sent when their delivery sets out, and
gives the courier at the door.

The delivery keeps a keyed hash of it (HMAC-SHA256 under ``SECRET_KEY``, bound to the delivery
and the attempt), so that no one reading the delivery (its courier, staff, a database dump)
learns the code: only the buyer's email and notification carry it. It is checked in constant
time; wrong codes are counted on the delivery, which locks after
``DELIVERY_CODE_MAX_FAILURES`` of them.
"""

import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "silkcart.delivery.code"
LENGTH = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**LENGTH):0{LENGTH}d}"


def code_hash(*, delivery_id: int, attempt: int, code: str) -> str:
    return salted_hmac(_SALT, f"{delivery_id}:{attempt}:{code}", algorithm="sha256").hexdigest()


def code_matches(*, delivery_id: int, attempt: int, code: str, stored: str) -> bool:
    """Whether ``code`` is the code of this attempt; the same time for any wrong code."""
    code = (code or "").strip()
    if not stored:
        return False
    candidate = code_hash(delivery_id=delivery_id, attempt=attempt, code=code)
    return constant_time_compare(candidate, stored)
