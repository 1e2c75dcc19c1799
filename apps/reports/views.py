"""The back office's dashboard, a page of the Django admin: its login, its look, and a link on
its index. Staff with ``reports.view_reports`` (the ``Store admin`` and ``Order manager``
groups) see it; the admin sends anyone else to its login page, and refuses staff without the
permission. The tables download as CSV, under the same rule.

The page loads nothing but this site's static files: its charts are SVG drawn on the server,
its styles a static file. Its Content-Security-Policy allows no inline script or style.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse

from . import dashboard, exports, services

PERMISSION = "reports.view_reports"


def _require_permission(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def content_security_policy() -> str:
    """Scripts, styles, images and fonts from this site (or the host of STATIC_URL, when it
    is a CDN); no inline script or style, no plugin, no frame around the page."""
    origins = ["'self'"]
    parts = urlsplit(static("reports/dashboard.css"))
    if parts.netloc:
        origins.append(f"{parts.scheme}://{parts.netloc}" if parts.scheme else parts.netloc)
    own = " ".join(origins)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {own}",
            f"style-src {own}",
            f"img-src {own}",
            f"font-src {own}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def dashboard_view(request: HttpRequest) -> HttpResponse:
    _require_permission(request)
    form = dashboard.PeriodForm(request.GET or None)
    period = form.chosen()
    built = dashboard.build(period)
    base = reverse("reports:dashboard")
    csv_links = {
        name.replace("-", "_"): f"{reverse('reports:export', args=[name])}?{period.query}"
        for name in exports.TABLES
    }
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "form": form,
        "period": period,
        "zone": settings.TIME_ZONE,
        "presets": [
            {
                "label": f"{days} days",
                "url": f"{base}?period={key}",
                "current": period.key == key,
            }
            for key, days in dashboard.PRESETS.items()
        ],
        "dashboard": built,
        "charts": built.charts(),
        "exports": csv_links,
        "best_sellers": [
            ("Top products", built.best_sellers["goods"], csv_links["products"]),
            ("Top services", built.best_sellers["services"], csv_links["services"]),
        ],
        "currency": settings.SHOP_CURRENCY,
        "low_stock_threshold": services.LOW_STOCK_THRESHOLD,
    }
    response = render(request, "reports/dashboard.html", context)
    response["Content-Security-Policy"] = content_security_policy()
    return response


def export_view(request: HttpRequest, table: str) -> HttpResponse:
    _require_permission(request)
    if table not in exports.TABLES:
        raise Http404("No such table.")
    form = dashboard.PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        errors = [message for messages in form.errors.values() for message in messages]
        return HttpResponseBadRequest("\n".join(errors), content_type="text/plain; charset=utf-8")
    return exports.csv_response(form.chosen(), table)
