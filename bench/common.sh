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

secs() {  # COMMAND...: wall time in seconds
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l | xargs printf '%.4f'
}

# turns ROUND A_TIMES B_TIMES: time the functions a and b, each going first
# every other round, and add each one's seconds to its list.
turns() {
	local -n ta=$2 tb=$3
	if [ $(($1 % 2)) = 1 ]; then ta+="$(a)"$'\n'; tb+="$(b)"$'\n'
	else tb+="$(b)"$'\n'; ta+="$(a)"$'\n'; fi
}

row() {  # DRIVER WHAT DBSHIFT_TIMES FLOOR_TIMES [FLOOR_NAME]
	local a b
	a=$(echo "$3" | median)
	b=$(echo "$4" | median)
	printf '%-9s %-40s %9.3fs %9.3fs %7.2fx  %s\n' "$1" "$2" "$a" "$b" \
		"$(echo "$a / $b" | bc -l)" "${5:-floor}"
}
