from datetime import datetime

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError

from api.permissions import HasPerm
from api.types import PublicError
from apps.core.errors import CoreErrorCode

from . import services
from .types import Granularity, SalesReport


@strawberry.type
class ReportQuery:
    @strawberry_django.field(
        extensions=[HasPerm("reports.view_reports", fail_silently=False)],
        description="Sales between start (included) and end (excluded), at most three years.",
    )
    def sales_report(
        self, start: datetime, end: datetime, granularity: Granularity = Granularity.DAY
    ) -> SalesReport:
        try:
            window = services.report_range(start=start, end=end, granularity=granularity.value)
        except ValidationError as error:
            raise PublicError(error.messages[0], code=CoreErrorCode.INVALID) from None
        return SalesReport(window=window)
