from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from api.views import SilkCartGraphQLView
from apps.core.views import healthz, readyz
from schema.schema import schema

handler500 = "apps.core.views.server_error"

urlpatterns = [
    # The back office's dashboard, a page of the admin (before the admin's own URLs).
    path("admin/dashboard/", include("apps.reports.urls")),
    path("admin/", admin.site.urls),
    path(
        "graphql/",
        SilkCartGraphQLView.as_view(
            schema=schema,
            graphql_ide="graphiql" if settings.GRAPHQL_GRAPHIQL else None,
            multipart_uploads_enabled=True,
        ),
        name="graphql",
    ),
    # Probes: liveness (no I/O) and readiness (database and cache).
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# The benchmarks' floor (backend.settings.bench only): a plain JSON view of the catalog page.
if getattr(settings, "BENCH_FLOOR_VIEW", False):
    from bench.views import catalog_floor

    urlpatterns.append(path("bench/catalog/", catalog_floor, name="bench-catalog"))
