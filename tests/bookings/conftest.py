from datetime import datetime

import pytest
from django.utils import timezone


@pytest.fixture
def clock(monkeypatch):
    """Set the time the code reads (``django.utils.timezone.now``) to a fixed moment.

    The database's own clock (``Now()``, which tells live holds from expired ones) keeps the
    real time: tests of hold expiry run on the real clock.
    """

    def set_to(moment: datetime) -> datetime:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_to
