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
# X-Forwarded-For only from the proxies configured (uvicorn on its own would believe 127.0.0.1)
forwarded="${FQ_FORWARDED_ALLOW_IPS:-${FORWARDED_ALLOW_IPS:-}}"
if [ -n "$forwarded" ]; then set -- --proxy-headers --forwarded-allow-ips "$forwarded"; else set -- --no-proxy-headers; fi
exec uvicorn --factory "${SERVICE}_svc.app:create_app" --host 0.0.0.0 --port "$PORT" \
  --no-access-log --timeout-graceful-shutdown 20 "$@"
