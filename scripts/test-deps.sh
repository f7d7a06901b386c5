#!/usr/bin/env bash
# Runs before `npm test`: the tests start real servers and a real browser (Debian packages):
# nats-server for the nats engine tests, chromium for the dashboard's tests (test/ui, driven by
# playwright-core). Installs what is missing when this user may (root with apt-get); else says how.
set -euo pipefail
need=()
command -v nats-server >/dev/null || need+=(nats-server)
command -v chromium >/dev/null || need+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql) # the PostgreSQL sink's tests (test/connectors)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test-deps: installing ${need[*]} (Debian packages) for the tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  exit 0
fi
echo "test-deps: the tests need ${need[*]} on PATH: sudo apt-get install ${need[*]}" >&2
exit 1
