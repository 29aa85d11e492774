#!/usr/bin/env bash
# fleet.sh [ROUNDS] - 'dbshift fleet migrate' (jobs = 8) against the shell
# loop a team writes today ('dbshift migrate' once per target), applying
# three migrations to 200 SQLite files and to 50 PostgreSQL databases of
# one server; the median of ROUNDS (3) runs, each going first every other
# round.  Then the peak memory (maximum resident set) of a fleet run for
# 2 and 8 jobs over 50 and 200 targets: it should follow jobs, not
# targets.
. "$(dirname "$0")/common.sh" postgres
R=${1:-3}
cd "$WORK"

mkdir migrations
for i in 1 2 3; do
	printf -- '-- migrate:up\nCREATE TABLE t%d (id bigint PRIMARY KEY, tenant text NOT NULL, at timestamp);\nCREATE INDEX t%d_tenant ON t%d (tenant);\n-- migrate:down\nDROP TABLE t%d;\n' \
		"$i" "$i" "$i" "$i" > "migrations/00${i}_t$i.sql"
done

sqlite_targets() {  # N: a list of N new SQLite files
	rm -rf sq; mkdir sq
	for i in $(seq 1 "$1"); do echo "sqlite:$WORK/sq/t$i.db"; done > sqlite.txt
}

pg_targets() {  # N: N empty databases of the server
	local i
	for i in $(seq 1 "$1"); do
		echo "DROP DATABASE IF EXISTS fleet_$i; CREATE DATABASE fleet_$i;"
	done | psql -X -q "$PG_ADMIN_URL" >/dev/null 2>&1
	for i in $(seq 1 "$1"); do
		echo "postgres://postgres:$PG_PASSWORD@127.0.0.1:$PGPORT_TEST/fleet_$i"
	done > pg.txt
}

conf() {  # LIST JOBS
	printf '[dbshift]\nlog_file =\nreport_dir =\n\n[fleet]\ntargets = %s\njobs = %s\n' "$1" "$2" > dbshift.conf
}

loop() {  # LIST: dbshift migrate once per target, as a shell loop does (a failure
	# stops it, and the bench)
	local u
	while read -r u; do "$DBSHIFT" --database "$u" migrate >/dev/null; done < "$1"
}

check_all() {  # every target has the three migrations, or the bench stops
	local got
	got=$("$DBSHIFT" --json fleet status | jq '[.targets[] | select(.after == "003")] | length')
	[ "$got" = "$n" ] || echo "only $got of $n targets migrated" >> "$WORK/bad"
}

peak_kb() {  # COMMAND...: its peak resident memory, in KiB
	/usr/bin/python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

printf '%-9s %-40s %10s %10s %8s\n' driver work fleet 'shell loop' ratio
for driver in sqlite postgres; do
	n=200 list=sqlite.txt
	[ "$driver" = postgres ] && n=50 list=pg.txt
	conf "$list" 8
	fleet_t= loop_t=
	for r in $(seq 1 "$R"); do
		fresh() { if [ "$driver" = sqlite ]; then sqlite_targets "$n"; else pg_targets "$n"; fi; }
		a() { fresh; secs "$DBSHIFT" fleet migrate; check_all; }
		b() { fresh; secs loop "$list"; check_all; }
		turns "$r" fleet_t loop_t
		[ ! -s "$WORK/bad" ] || { cat "$WORK/bad" >&2; exit 1; }
	done
	row "$driver" "3 migrations on $n targets, jobs = 8" "$fleet_t" "$loop_t" "shell loop"
done

echo
printf '%-9s %-40s %12s\n' driver 'fleet migrate' 'peak memory'
for n in 50 200; do
	for jobs in 2 8; do
		sqlite_targets "$n"
		conf sqlite.txt "$jobs"
		printf '%-9s %-40s %9s KiB\n' sqlite "$n targets, jobs = $jobs" "$(peak_kb "$DBSHIFT" fleet migrate)"
	done
done
