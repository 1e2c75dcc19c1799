#!/usr/bin/env bash
# Smoke check of a built production image: `docker/smoke-test.sh IMAGE`.
# Runs the image as in production (SQLite and the local-memory cache stand in for PostgreSQL and
# Redis), then checks the non-root user, `check --deploy`, the container's HEALTHCHECK, /readyz
# and a catalog query through gunicorn. Needs docker and curl; bounded waits; cleans up.
set -euo pipefail

image="${1:?usage: docker/smoke-test.sh IMAGE}"
name="silkcart-smoke-$$"
port="${SMOKE_PORT:-18000}"
env_args=(
  -e DJANGO_SECRET_KEY="smoke-test-only-7Hq2Lw9Zt4Xv8Bn3Mc6Kd1Rf5Gy0Pj"
  -e ALLOWED_HOSTS=localhost
  -e DATABASE_URL=sqlite:////tmp/smoke.sqlite3
  -e CACHE_URL=locmemcache://smoke
  -e REALTIME_REDIS_URL=redis://127.0.0.1:6379/1
  -e WEB_CONCURRENCY=2
)

cleanup() {
  docker logs "$name" >/tmp/silkcart-smoke.log 2>&1 || true
  docker rm --force "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== runs as a non-root user"
uid="$(docker run --rm --entrypoint id "$image" -u)"
test "$uid" != "0"

echo "== manage.py check --deploy"
docker run --rm "${env_args[@]}" "$image" \
  python manage.py check --deploy --fail-level WARNING

echo "== gunicorn serves /readyz and GraphQL"
docker run --detach --name "$name" --publish "127.0.0.1:${port}:8000" "${env_args[@]}" \
  "$image" sh -c "python manage.py migrate --noinput && exec gunicorn --config gunicorn.conf.py"

headers=(-H "Host: localhost" -H "X-Forwarded-Proto: https")
for _ in $(seq 1 60); do
  if curl --silent --fail --max-time 3 "${headers[@]}" "http://127.0.0.1:${port}/readyz"; then
    echo
    break
  fi
  sleep 2
done
curl --silent --show-error --fail --max-time 5 "${headers[@]}" "http://127.0.0.1:${port}/readyz"
echo
curl --silent --show-error --fail --max-time 10 "${headers[@]}" \
  -H "Content-Type: application/json" \
  --data '{"query": "{ products(first: 1) { totalCount } }"}' \
  "http://127.0.0.1:${port}/graphql/" | tee /dev/stderr | grep -q '"totalCount"'
echo

echo "== the HEALTHCHECK reports healthy"
for _ in $(seq 1 30); do
  status="$(docker inspect --format '{{.State.Health.Status}}' "$name")"
  [ "$status" = "healthy" ] && break
  sleep 3
done
echo "health: $status"
test "$status" = "healthy"
echo "smoke check passed"
