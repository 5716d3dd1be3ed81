#!/usr/bin/env bash
# Set everything up and run the whole test suite on a fresh Debian machine (as root):
# the venv, Debian's PostgreSQL and Dovecot, a throw-away PostgreSQL cluster on loopback under a
# temporary directory (stopped by PID at the end), ruff, then pytest on SQLite and PostgreSQL.
# Dovecot and Ceph RGW are started by the test fixtures themselves (tests/support/dovecot.py,
# tests/support/rgw.py), under short /tmp directories, and stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dovecot >/dev/null || need+=(dovecot-imapd dovecot-lmtpd)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null || need+=(openssl)
command -v radosgw >/dev/null || need+=(ceph-mon ceph-osd radosgw ceph-common)  # S3 Object Lock
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing Debian packages: ${need[*]} (run as root)" >&2; exit 2; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

bash scripts/setup.sh

tmp=$(mktemp -d /tmp/pecora-test.XXXXXX)
chmod 0755 "$tmp"
pids=()
cleanup() {
  if [ ${#pids[@]} -gt 0 ]; then bash scripts/services/stop-pids.sh -t 20 "${pids[@]}"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bash scripts/services/start-postgres.sh "$tmp/pg" "$port" pecora pecora pecora-test-pw >"$tmp/pg.out"
pids+=("$(head -1 "$tmp/pg/data/postmaster.pid")")
export PECORA_TEST_PG_URL="postgresql+asyncpg://pecora:pecora-test-pw@127.0.0.1:$port/pecora"

.venv/bin/ruff check .
.venv/bin/mypy   # strict on handlers/ and store/ (pyproject [tool.mypy])
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "pytest collected no tests" >&2; fi
exit "$rc"
