"""ASGI entry point, kept working for realtime features (uvicorn workers, psycopg pool).

GraphQL is served faster by the WSGI entry point (sync view, persistent connections); under ASGI
Django opens a connection per request unless ``DATABASE_POOL=true`` enables psycopg's pool.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

application = get_asgi_application()
