from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary
from django.db.models import Func


class TsTzRange(Func):
    """``tstzrange(start, end, '[)')``: a half-open span of two timestamp columns."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()

    def __init__(self, start, end, **extra) -> None:
        super().__init__(start, end, RangeBoundary(), **extra)
