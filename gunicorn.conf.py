"""gunicorn settings: `gunicorn -c gunicorn.conf.py backend.wsgi:application` (production image).

Every value comes from the environment, so that one image fits every machine size:

- GUNICORN_BIND (default 0.0.0.0:8000, or 0.0.0.0:$PORT when PORT is set)
- WEB_CONCURRENCY: worker processes (default 2 per CPU + 1, at most 8)
- GUNICORN_THREADS: threads per worker (default 1: sync workers; more than 1: gthread workers)
- GUNICORN_TIMEOUT, GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_KEEPALIVE: seconds
- GUNICORN_MAX_REQUESTS, GUNICORN_MAX_REQUESTS_JITTER: recycle a worker after that many requests
- GUNICORN_CONTROL_SOCKET: path of gunicorn's control socket (default: none, disabled)
- LOG_FORMAT: json (default) or plain, like the Django logs; LOG_LEVEL for gunicorn's own log

Each worker keeps its database connection open between requests (DATABASE_CONN_MAX_AGE), so
PostgreSQL sees at most WEB_CONCURRENCY x GUNICORN_THREADS connections per container.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "backend.wsgi:application"

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_int('PORT', 8000)}"
workers = _int("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8))
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)

# gunicorn's control socket (for gunicornc) stays off unless GUNICORN_CONTROL_SOCKET names a
# path: its default lives in $HOME, which is read-only in the image and shared between servers.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
control_socket_disable = not _control_socket
if _control_socket:
    control_socket = _control_socket

# Worker heartbeat files in memory, not on a possibly slow container filesystem.
# /dev/shm is the container's own tmpfs, not a shared temporary directory.
_SHM = "/dev/shm"  # noqa: S108  # nosec B108
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    _SHM if os.path.isdir(_SHM) else None
)

# Logs: the access log and gunicorn's own log on stdout. Access lines carry the request id
# that Django returns in X-Request-ID, the same id as on the application's log lines.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
)

if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"level": "INFO", "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["stdout"],
                "propagate": False,
            },
            "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        },
    }
