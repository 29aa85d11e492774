# common.sh - what every benchmark starts with: dependencies, a release
# build (DBSHIFT), a work directory (WORK, removed on exit) and, with
# "postgres" as $1, a throwaway PostgreSQL server (see pgserver.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh" build-bench -Dbuildtype=release
DBSHIFT=$ROOT/build-bench/dbshift
WORK=$(mktemp -d /tmp/dbshift-bench.XXXXXX)
chmod 755 "$WORK"
. "$ROOT/tests/integration/pgserver.sh"
trap 'pg_stop; s3_stop; rm -rf "$WORK"' EXIT
if [ "${1:-}" = postgres ]; then
	PG_FSYNC=on pg_start  # as a real server runs: each commit waits for the disk
fi

median() {  # numbers on stdin
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
