"""The container's HEALTHCHECK: GET /healthz on the local gunicorn; exit 0 when it answers 200.

Standard library only, and no Django import, so that it costs a few milliseconds. It sends a
Host header the server accepts (the first entry of ALLOWED_HOSTS) and X-Forwarded-Proto: https,
as the load balancer would.

``healthcheck.py worker ID_FILE``, for the job worker (``manage.py jobs_worker --id-file
ID_FILE``): exit 0 when the worker whose id is in ID_FILE sent its heartbeat (every 10 s) to
PostgreSQL (DATABASE_URL) in the last 30 s, the age after which Procrastinate takes it for dead.
"""

import http.client
import os
import sys


def _port() -> int:
    bind = os.environ.get("GUNICORN_BIND", "")
    if bind.rpartition(":")[2].isdigit() and not bind.startswith("unix:"):
        return int(bind.rpartition(":")[2])
    return int(os.environ.get("PORT") or 8000)


def _host() -> str:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = hosts[0].lstrip(".") if hosts else ""
    return host if host and host != "*" else "localhost"


def main() -> int:
    connection = http.client.HTTPConnection("127.0.0.1", _port(), timeout=4)
    try:
        connection.request(
            "GET", "/healthz", headers={"Host": _host(), "X-Forwarded-Proto": "https"}
        )
        status = connection.getresponse().status
    except OSError as error:
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"healthcheck: /healthz answered {status}", file=sys.stderr)
        return 1
    return 0


HEARTBEAT_MAX_AGE_SECONDS = 30


def worker(id_file: str) -> int:
    import psycopg  # the worker's image has it; the web check above needs nothing but stdlib

    try:
        with open(id_file) as file:
            worker_id = int(file.read().strip())
    except (OSError, ValueError) as error:
        print(f"healthcheck: no worker id in {id_file}: {error}", file=sys.stderr)
        return 1
    url = os.environ.get("DATABASE_URL", "")
    scheme, sep, rest = url.partition("://")
    if scheme in ("pgsql", "psql", "postgis"):  # django-environ's aliases; libpq knows these two
        url = f"postgresql{sep}{rest}"
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            row = connection.execute(
                "SELECT last_heartbeat > now() - make_interval(secs => %s)"
                " FROM procrastinate_workers WHERE id = %s",
                (HEARTBEAT_MAX_AGE_SECONDS, worker_id),
            ).fetchone()
    except psycopg.Error as error:
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    if not row or not row[0]:
        print(f"healthcheck: worker {worker_id} sent no recent heartbeat", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"] and len(sys.argv) == 3:
        sys.exit(worker(sys.argv[2]))
    sys.exit(main())
