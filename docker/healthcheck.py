"""The container's HEALTHCHECK: GET /healthz on the local gunicorn; exit 0 when it answers 200.

Standard library only, and no Django import, so that it costs a few milliseconds. It sends a
Host header the server accepts (the first entry of ALLOWED_HOSTS) and X-Forwarded-Proto: https,
as the load balancer would.
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


if __name__ == "__main__":
    sys.exit(main())
