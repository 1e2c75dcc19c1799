"""Measure `salesReport` on the current database (seed it with `seed_demo --orders 100000`).

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/sales_report.py [--runs 7]
Prints, per case, the median and the worst wall time of the whole GraphQL request (in-process,
through Django's test client as the demo admin) and the number of SQL queries it ran.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import User  # noqa: E402
from apps.orders.models import Order  # noqa: E402

QUERY = """
query ($start: DateTime!, $end: DateTime!, $granularity: Granularity!) {
  salesReport(start: $start, end: $end, granularity: $granularity) {
    revenue { amount currency } orderCount averageOrderValue { amount } itemsSold newCustomers
    byPeriod { start revenue { amount } orderCount }
    ordersByStatus { status count }
    topProducts(limit: 10) { productName quantity revenue { amount } }
  }
}
"""
CASES = [
    ("90 days by day", 90, "DAY"),
    ("1 year by month", 365, "MONTH"),
    ("1 year by week", 365, "WEEK"),
    ("3 years by day", 3 * 365, "DAY"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    if admin is None:
        sys.exit("Run `manage.py seed_demo --orders 100000` first.")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    end = timezone.now()
    print(f"{Order.objects.count()} orders on {connection.vendor}")
    print("| case | median ms | worst ms | SQL queries |")
    print("| --- | ---: | ---: | ---: |")
    for label, days, granularity in CASES:
        variables = {
            "start": (end - timedelta(days=days)).isoformat(),
            "end": end.isoformat(),
            "granularity": granularity,
        }
        body = json.dumps({"query": QUERY, "variables": variables})
        timings, queries = [], 0
        for run in range(args.runs + 1):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.post("/graphql/", body, content_type="application/json")
                elapsed = (time.perf_counter() - started) * 1000
            payload = response.json()
            if "errors" in payload:
                sys.exit(f"{label}: {payload['errors']}")
            if run:  # the first run warms the caches
                timings.append(elapsed)
                queries = len(captured.captured_queries)
        print(f"| {label} | {statistics.median(timings):.0f} | {max(timings):.0f} | {queries} |")


if __name__ == "__main__":
    main()
