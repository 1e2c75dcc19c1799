"""ASGI entry point: the realtime process (GraphQL subscriptions over WebSocket at /graphql/),
and, in development, everything on one port (`make run`: Channels' development server).

In production HTTP GraphQL stays on the WSGI entry point (gunicorn, sync view, persistent
connections: measured faster); a proxy sends WebSocket upgrades of /graphql/ here (uvicorn
``backend.asgi:application``), and this process answers its own health checks over HTTP. Under
ASGI Django opens a connection per request unless ``DATABASE_POOL=true`` enables psycopg's pool.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

django_application = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.urls import re_path  # noqa: E402

from schema.realtime import RealtimeConsumer  # noqa: E402
from schema.schema import schema  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": SessionMiddlewareStack(
            URLRouter([re_path(r"^graphql/?$", RealtimeConsumer.as_asgi(schema=schema))])
        ),
    }
)
