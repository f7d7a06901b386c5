#!/usr/bin/env bash
# Runs before `npm test`: the nats engine tests start real nats-server processes (Debian package
# nats-server). Installs it when missing and this user may (root with apt-get); else says how.
set -euo pipefail
command -v nats-server >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test-deps: installing nats-server (Debian package) for the nats engine tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server
  exit 0
fi
echo "test-deps: the tests need nats-server on PATH: sudo apt-get install nats-server" >&2
exit 1
