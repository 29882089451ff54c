#!/bin/sh
# Starts the service named by $SERVICE on $PORT (default: the service's own port).
set -eu
case "${SERVICE:-}" in
  intake) default_port=8101 ;;
  routing) default_port=8102 ;;
  notify) default_port=8103 ;;
  analytics) default_port=8104 ;;
  *) echo "SERVICE must be intake, routing, notify or analytics (got '${SERVICE:-}')" >&2; exit 64 ;;
esac
PORT="${PORT:-$default_port}"
# X-Forwarded-For/-Proto are trusted only from FQ_FORWARDED_ALLOW_IPS (the ingress controller; comma-separated
# addresses or CIDR ranges), so the citizen page's rate limit keys on the real client address
exec uvicorn --factory "${SERVICE}_svc.app:create_app" --host 0.0.0.0 --port "$PORT" \
  --proxy-headers --forwarded-allow-ips "${FQ_FORWARDED_ALLOW_IPS:-127.0.0.1}" \
  --no-access-log --timeout-graceful-shutdown 20
