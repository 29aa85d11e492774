# t_fleet.sh - dbshift fleet: one command on many databases.  Real
# databases (SQLite files, databases and schemas of the test's PostgreSQL
# server), a real webhook receiver; every outcome read back from the
# databases themselves.

# fleet_project N: a project with migrations 1_a and 2_b, N empty
# databases of the driver under test listed in targets.txt (the third as
# env:FLEET_THIRD), and FLEET_URLS[1..N].
fleet_project() {
	project fleet
	printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n' > migrations/1_a.sql
	printf -- '-- migrate:up\nCREATE TABLE b (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE b;\n' > migrations/2_b.sql
	FLEET_URLS=()
	printf '# the tenants\n\n' > targets.txt
	local i
	for i in $(seq 1 "$1"); do
		FLEET_URLS[$i]=$(newdb "fleet$i")
		if [ "$i" = 3 ]; then
			export FLEET_THIRD=${FLEET_URLS[$i]}
			echo "  env:FLEET_THIRD  " >> targets.txt
		else
			echo "${FLEET_URLS[$i]}" >> targets.txt
		fi
	done
}

# fleet_versions: each target's applied versions ("-" without a history).
fleet_versions() {
	local i out=""
	for i in $(seq 1 "${#FLEET_URLS[@]}"); do
		if [ "$(table_exists "${FLEET_URLS[$i]}" dbshift_migrations)" = 1 ]; then
			out="$out$i:$(sql "${FLEET_URLS[$i]}" "SELECT version FROM dbshift_migrations WHERE status = 'applied' ORDER BY version" | paste -sd,) "
		else
			out="$out$i:- "
		fi
	done
	echo "${out% }"
}

t_fleet() {
	fleet_project 5
	local tag="$DRIVER fleet"
	receiver_start
	printf '[dbshift]\nnotify_url = http://127.0.0.1:%s/hook\n\n[fleet]\ntargets = targets.txt\njobs = 2\non_error = continue\n' "$RECV_PORT" > dbshift.conf

	# one target already has what 2_b makes: it fails there, alone (on
	# PostgreSQL after 1_a; SQLite's preflight refuses the plan before)
	local p1=1 p0=1
	[ "$DRIVER" = sqlite ] && p1= p0=-
	sql "${FLEET_URLS[3]}" "CREATE TABLE b (x int)" >/dev/null
	dbs fleet migrate
	check_rc 1 "$tag: a failed target fails the fleet (exit 1)"
	check_eq "$(fleet_versions)" "1:1,2 2:1,2 3:$p0 4:1,2 5:1,2" "$tag: on_error = continue: every other target is migrated, the failed one stops at its failed migration"
	local shown3; shown3=$("$DBSHIFT" --database "${FLEET_URLS[3]}" --json status | jq -r .database)
	check_contains "$OUT" "$shown3  failed" "$tag: the failed target is named in the table"
	check_eq "$(echo "$OUT" | grep -c "^\[[1-5]/5\] .*  succeeded  - -> 2 ")" "4" "$tag: each migrated target's line shows its versions before and after"
	check_contains "$(echo "$OUT" | grep "$shown3  failed")" "already exists" "$tag: and the failed one's line its error"
	check_contains "$ERR" "error: 1 of 5 targets failed, 0 not started" "$tag: and the summary says so"
	local rep; rep=$(ls reports/fleet-*.json | tail -n 1)
	check_eq "$(jq -r '[.command, .summary.total, .summary.succeeded, .summary.failed, .summary.skipped] | join(" ")' "$rep")" \
		"fleet migrate 5 4 1 0" "$tag: the fleet report in report_dir"
	check_eq "$(jq -r '.targets[] | [.status, (.before // "-"), (.after // "-")] | join(" ")' "$rep" | sort | uniq -c | sed 's/^ *//')" \
		"1 failed - $p0
4 succeeded - 2" "$tag: each target with its versions before and after"
	check_eq "$(jq -r ".targets[] | select(.status == \"failed\") | .target" "$rep")" "$shown3" "$tag: the failed target in the report"
	check_eq "$(stat -c %a "$rep")" "600" "$tag: the report is the owner's only"
	check_eq "$(posts)" "3" "$tag: three alerts: the fleet's start, the failed target, the fleet's end"
	check_eq "$(post 1 '[.body.dbshift.command, .body.dbshift.status, .body.dbshift.database] | join(" ")')" \
		"fleet migrate started 5 targets" "$tag: the fleet's start"
	check_eq "$(post 2 '[.body.dbshift.command, .body.dbshift.status, .body.dbshift.database] | join(" ")')" \
		"fleet migrate failed $shown3" "$tag: the failed target's alert names it"
	check_contains "$(post 2 .body.dbshift.error.message)" "already exists" "$tag: and carries its error"
	check_eq "$(post 3 '[.body.dbshift.command, .body.dbshift.status, .body.dbshift.error.message, .body.dbshift.report] | join(" ")')" \
		"fleet migrate failed 1 of 5 targets failed, 0 not started $rep" "$tag: the fleet's end, with its report"
	check_lacks "$OUT$ERR$(cat "$rep" "$WORK/recv/posts" logs/dbshift.log)" "s3cret-pw" "$tag: no password in any output, report, alert or log"

	# the failed one, fixed, again: only it runs
	sql "${FLEET_URLS[3]}" "DROP TABLE b" >/dev/null
	dbs fleet migrate --only-failed
	check_rc 0 "$tag: --only-failed succeeds"
	check_contains "$OUT" "fleet migrate: 1 target, " "$tag: --only-failed runs the failed target alone"
	check_eq "$(fleet_versions)" "1:1,2 2:1,2 3:1,2 4:1,2 5:1,2" "$tag: and migrates it"
	check_eq "$(posts)" "5" "$tag: a fleet that succeeded: its start and end alone"
	dbs fleet migrate --only-failed
	check_rc 0 "$tag: --only-failed after a run where all succeeded"
	check_contains "$OUT" "fleet migrate: 0 targets, " "$tag: has nothing to run"

	dbs fleet status
	check_rc 0 "$tag: fleet status"
	check_contains "$OUT" "  2                        5 targets" "$tag: status groups the targets by their newest migration"
	dbs fleet status --exit-code
	check_rc 0 "$tag: fleet status --exit-code: every target current"
	dbs fleet migrate --exit-code
	check_rc 2 "$tag: --exit-code is status's alone"
	check_contains "$ERR" "fleet migrate does not take --exit-code" "$tag: and says so"

	# on_error = stop, one at a time: nothing starts after the failure
	dbs fleet rollback --steps 2
	check_rc 0 "$tag: fleet rollback --steps 2"
	check_eq "$(fleet_versions)" "1: 2: 3: 4: 5:" "$tag: rolls every target back"
	dbs fleet status --exit-code
	check_rc 1 "$tag: fleet status --exit-code: targets behind"
	check_contains "$ERR" "error: 5 of 5 targets are behind or have a failed migration" "$tag: and how many"
	sql "${FLEET_URLS[2]}" "CREATE TABLE b (x int)" >/dev/null
	printf '[fleet]\ntargets = targets.txt\njobs = 1\non_error = stop\n' > dbshift.conf
	dbs fleet migrate
	check_rc 1 "$tag: on_error = stop fails"
	check_eq "$(fleet_versions)" "1:1,2 2:$p1 3: 4: 5:" "$tag: on_error = stop: no target starts after the failure"
	check_eq "$(jq -r '[.summary.succeeded, .summary.failed, .summary.skipped] | join(" ")' "$(ls reports/fleet-*.json | tail -n 1)")" \
		"1 1 3" "$tag: the others are not started"
	sql "${FLEET_URLS[2]}" "DROP TABLE b" >/dev/null
	dbs fleet migrate --only-failed
	check_rc 0 "$tag: --only-failed re-runs the failed and the not started"
	check_eq "$(fleet_versions)" "1:1,2 2:1,2 3:1,2 4:1,2 5:1,2" "$tag: which finishes the fleet"

	# on_error = continue up to max_failures
	dbs fleet rollback --steps 2
	sql "${FLEET_URLS[2]}" "CREATE TABLE b (x int)" >/dev/null
	sql "${FLEET_URLS[4]}" "CREATE TABLE b (x int)" >/dev/null
	printf '[fleet]\ntargets = targets.txt\njobs = 1\non_error = continue\nmax_failures = 2\n' > dbshift.conf
	dbs fleet migrate
	check_rc 1 "$tag: max_failures fails"
	check_eq "$(fleet_versions)" "1:1,2 2:$p1 3:1,2 4:$p1 5:" "$tag: on_error = continue goes on past a failure, and stops at max_failures"
	sql "${FLEET_URLS[2]}" "DROP TABLE b" >/dev/null
	sql "${FLEET_URLS[4]}" "DROP TABLE b" >/dev/null
	dbs fleet migrate --only-failed
	check_contains "$OUT" "fleet migrate: 3 targets, " "$tag: --only-failed takes the two failed and the one not started"

	# a canary that fails: nothing else is touched
	dbs fleet rollback --steps 2
	sql "${FLEET_URLS[1]}" "CREATE TABLE b (x int)" >/dev/null
	printf '[fleet]\ntargets = targets.txt\njobs = 4\ncanary = 1\non_error = continue\n' > dbshift.conf
	dbs fleet migrate
	check_rc 1 "$tag: a failed canary fails the fleet"
	check_eq "$(fleet_versions)" "1:$p1 2: 3: 4: 5:" "$tag: a failed canary leaves every other target untouched"
	check_contains "$OUT" "not started: a canary target failed" "$tag: and says why they did not start"
	sql "${FLEET_URLS[1]}" "DROP TABLE b" >/dev/null
	dbs fleet migrate
	check_rc 0 "$tag: a canary that succeeds lets the rest run"
	check_eq "$(fleet_versions)" "1:1,2 2:1,2 3:1,2 4:1,2 5:1,2" "$tag: and every target is migrated"

	# with --json, the fleet's report is the document
	dbs --json fleet plan
	check_rc 0 "$tag: fleet plan --json"
	check_eq "$(echo "$OUT" | jq -r '[.command, .ok, .summary.total, ([.targets[].pending] | add)] | join(" ")')" \
		"fleet plan true 5 0" "$tag: the plan of each target: nothing to run"
	check_eq "$(echo "$OUT" | /usr/bin/python3 "$HERE/json_check.py" "$HERE/../../docs/json.schema.json")" "valid" "$tag: its document follows docs/json.schema.json"
	receiver_stop
	cd "$WORK" || return
}

# Input errors: exit 2, file:line, nothing changed.
t_fleet_input() {
	fleet_project 2
	local tag="$DRIVER fleet input"
	printf '[fleet]\njobs = 0\n' > dbshift.conf
	dbs fleet migrate
	check_rc 2 "$tag: jobs = 0 is refused"
	check_contains "$ERR" "dbshift.conf:2:1: bad jobs '0'" "$tag: at its line"
	printf '[fleet]\non_error = maybe\n' > dbshift.conf
	dbs fleet migrate
	check_contains "$ERR" "dbshift.conf:2:1: bad on_error 'maybe'" "$tag: a bad on_error, at its line"
	printf '[fleet]\njobs = 2\n' > dbshift.conf
	dbs fleet migrate
	check_rc 2 "$tag: a fleet without targets is refused"
	check_contains "$ERR" "no fleet: [fleet] has no targets" "$tag: and says so"
	printf '[fleet]\ntargets = targets.txt\nschemas_query = SELECT 1\n' > dbshift.conf
	dbs fleet migrate
	check_contains "$ERR" "[fleet] sets more than one of targets, targets_query and schemas_query" "$tag: two sources are refused"
	printf '[fleet]\ntargets = targets.txt\n' > dbshift.conf
	unset FLEET_THIRD
	echo "env:FLEET_THIRD" >> targets.txt
	dbs fleet migrate
	check_rc 2 "$tag: an env: line whose variable is not set"
	check_contains "$ERR" "targets.txt:5:1: the environment variable FLEET_THIRD is not set" "$tag: is named at file:line"
	echo "${FLEET_URLS[1]}" > targets.txt
	echo "mysql://db/x" >> targets.txt
	dbs fleet migrate
	check_rc 2 "$tag: a URL no driver takes"
	check_contains "$ERR" "targets.txt:2:1: unsupported database URL" "$tag: is named at file:line"
	echo "${FLEET_URLS[1]}" > targets.txt
	echo "postgres://u:Hidden-pw@[::1/db" >> targets.txt
	dbs fleet migrate
	check_rc 2 "$tag: a URL libpq cannot read"
	check_contains "$ERR" "targets.txt:2:1: invalid database URL" "$tag: is named at file:line"
	check_lacks "$ERR" "Hidden-pw" "$tag: without its password"
	echo "${FLEET_URLS[1]}" > targets.txt
	echo "${FLEET_URLS[1]}" >> targets.txt
	dbs fleet migrate
	check_contains "$ERR" "targets.txt:2:1: target " "$tag: a target twice is refused at its line"
	check_eq "$(table_exists "${FLEET_URLS[1]}" dbshift_migrations)" "0" "$tag: and nothing ran"
	dbs fleet migrate --shard 3/2
	check_rc 2 "$tag: --shard 3/2 is a usage error"
	dbs fleet dance
	check_rc 2 "$tag: an unknown fleet command is a usage error"
	check_contains "$ERR" "fleet takes a command: migrate, rollback, status, plan, verify or release" "$tag: naming the commands"
	dbs fleet status --steps 2
	check_rc 2 "$tag: an option of another fleet command is a usage error"
	JOB_COMPLETION_INDEX=0 dbs fleet status
	check_rc 2 "$tag: JOB_COMPLETION_INDEX without DBSHIFT_SHARD_COUNT is refused"

	# targets from a catalogue database
	sql "sqlite:$WORK/fleet/catalog.db" "CREATE TABLE tenants (url text, active int); INSERT INTO tenants VALUES ('${FLEET_URLS[1]}', 1), ('${FLEET_URLS[2]}', 0), (NULL, 1)" >/dev/null
	printf '[fleet]\ntargets_query = SELECT url FROM tenants WHERE active\ntargets_database = env:CATALOG\n' > dbshift.conf
	CATALOG="sqlite:$WORK/fleet/catalog.db" dbs --json fleet plan
	check_rc 0 "$tag: targets_query on targets_database = env:NAME"
	check_eq "$(echo "$OUT" | jq -r '.targets | length')" "1" "$tag: takes the URLs of its rows (not a NULL one)"
	dbs fleet plan
	check_rc 2 "$tag: targets_database = env:NAME unset is refused"
	check_contains "$ERR" "targets_database names the environment variable CATALOG, which is not set" "$tag: and says so"
	printf '[fleet]\ntargets_query = SELECT nothing FROM nowhere\ntargets_database = sqlite:%s\n' "$WORK/fleet/catalog.db" > dbshift.conf
	dbs fleet plan
	check_rc 2 "$tag: a targets_query that fails is refused"
	check_contains "$ERR" "[fleet] targets_query failed: " "$tag: naming it"

	# a release whose runbook moves files would move them once per target
	echo '{"a": 1}' > app.json
	printf '[release]\nsteps = migrate settings:app\n\n[settings "app"]\nfile = app.json\nset = a = 2\n\n[fleet]\ntargets = targets.txt\n' > dbshift.conf
	echo "${FLEET_URLS[1]}" > targets.txt
	echo "${FLEET_URLS[2]}" >> targets.txt
	dbs fleet release
	check_rc 2 "$tag: fleet release with a step beyond the database is refused"
	check_contains "$ERR" "fleet release with the step settings:app is not implemented" "$tag: and says why"
	check_eq "$(cat app.json)$(table_exists "${FLEET_URLS[1]}" dbshift_migrations)" '{"a": 1}0' "$tag: and nothing changed"
	printf '[release]\nsteps = migrate verify\n\n[fleet]\ntargets = targets.txt\n' > dbshift.conf
	dbs fleet release
	check_rc 0 "$tag: fleet release runs the runbook on each target"
	check_eq "$(sql "${FLEET_URLS[2]}" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")" "2" "$tag: its migrate step migrated each"
	check_eq "$(sql "${FLEET_URLS[1]}" "SELECT command || ' ' || status FROM dbshift_runs")" "release succeeded" "$tag: each target has its own release run"
	dbs fleet verify
	check_rc 0 "$tag: fleet verify passes on each"
	sql "${FLEET_URLS[2]}" "CREATE TABLE nokey (x int)" >/dev/null
	dbs fleet verify
	check_rc 1 "$tag: fleet verify fails where a check fails"
	check_contains "$OUT" "check failed" "$tag: and says so for that target"
	cd "$WORK" || return
}

# --shard K/N: the N shards partition the targets, whatever their order.
t_fleet_shard() {
	project fleet_shard
	local tag="fleet shard" i n k
	for i in $(seq 1 40); do echo "sqlite:$WORK/fleet_shard/t$i.db"; done > all.txt
	printf '[fleet]\ntargets = list.txt\njobs = 8\n' > dbshift.conf
	for n in 1 2 3 7; do
		local got="" shuffled=""
		for k in $(seq 1 "$n"); do
			cp all.txt list.txt
			dbs --json fleet plan --shard "$k/$n"
			got="$got$(echo "$OUT" | jq -r '.targets[].target')
"
			shuf all.txt > list.txt
			dbs --json fleet plan --shard "$k/$n"
			shuffled="$shuffled$(echo "$OUT" | jq -r '.targets[].target' | sort | sed "s/^/$k /")
"
			[ "$k" = 1 ] && [ "$n" = 3 ] && first=$(echo "$OUT" | jq -r '.targets[].target' | sort)
		done
		check_eq "$(echo "$got" | grep -v '^$' | sort)" "$(sort all.txt)" "$tag: the $n shards cover every target exactly once"
		local again=""
		for k in $(seq 1 "$n"); do
			cp all.txt list.txt
			dbs --json fleet plan --shard "$k/$n"
			again="$again$(echo "$OUT" | jq -r '.targets[].target' | sort | sed "s/^/$k /")
"
		done
		check_eq "$shuffled" "$again" "$tag: a shuffled list gives each target the same one of $n shards"
	done
	cp all.txt list.txt
	JOB_COMPLETION_INDEX=0 DBSHIFT_SHARD_COUNT=3 dbs --json fleet plan
	check_eq "$(echo "$OUT" | jq -r '.shard')" "1/3" "$tag: a Kubernetes Indexed Job's index 0 is shard 1"
	check_eq "$(echo "$OUT" | jq -r '.targets[].target' | sort)" "$first" "$tag: the same targets as --shard 1/3"
	cd "$WORK" || return
}

# One target per schema of one PostgreSQL database, each with its own
# history and lock.
t_fleet_schemas() {
	project fleet_schemas
	local tag="postgres fleet schemas" url s
	url=$(newdb fleet_schemas)
	for s in tenant_a tenant_b "Tenant C"; do sql "$url" "CREATE SCHEMA \"$s\"" >/dev/null; done
	# (each tenant's start and end, in a table of the database's own)
	sql "$url" "CREATE TABLE public.seen (what text, tenant text, at timestamptz)" >/dev/null
	printf -- "-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO public.seen VALUES ('start', current_schema(), clock_timestamp());\n-- migrate:down\nDROP TABLE a;\n" > migrations/1_a.sql
	printf -- "-- migrate:up\nCREATE TABLE b (id int PRIMARY KEY REFERENCES a);\nINSERT INTO public.seen VALUES ('end', current_schema(), clock_timestamp());\n-- migrate:down\nDROP TABLE b;\n" > migrations/2_b.sql
	printf '[dbshift]\ndatabase = %s\n\n[fleet]\nschemas_query = SELECT nspname FROM pg_namespace WHERE nspname ILIKE '"'"'tenant%%'"'"' ORDER BY 1\njobs = 3\n' "$url" > dbshift.conf
	dbs fleet migrate
	check_rc 0 "$tag: fleet migrate on three schemas"
	local first; first=$(jq -r '.targets[0].target | sub(".* schema "; "")' "$(ls reports/fleet-*.json | tail -n 1)")
	check_eq "$(sql "$url" "SELECT count(*) FROM seen o WHERE o.what = 'start' AND o.tenant <> '$first' AND o.at > (SELECT at FROM seen WHERE what = 'end' AND tenant = '$first')")" \
		"2" "$tag: the first tenant runs alone first (what tenants share is made once), then the others"
	check_eq "$(sql "$url" "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema <> 'information_schema' AND table_schema NOT LIKE 'pg_%' AND table_name IN ('a', 'b', 'dbshift_migrations') ORDER BY 1")" \
		"Tenant C.a
Tenant C.b
Tenant C.dbshift_migrations
public.dbshift_migrations
tenant_a.a
tenant_a.b
tenant_a.dbshift_migrations
tenant_b.a
tenant_b.b
tenant_b.dbshift_migrations" "$tag: each schema has its tables and its own history"
	check_eq "$(sql "$url" "SELECT count(*) FROM public.dbshift_migrations")" "0" "$tag: the database's own history has none of the tenants' migrations"
	check_eq "$(sql "$url" "SELECT command || ' ' || status || ' ' || (report::json->'summary'->>'succeeded') FROM public.dbshift_runs")" \
		"fleet migrate succeeded 3" "$tag: it holds the fleet's run, with its summary"
	check_eq "$(sql "$url" "SELECT count(*) FROM \"Tenant C\".dbshift_migrations WHERE status = 'applied'")" "2" "$tag: a schema's history holds its migrations"
	check_lacks "$OUT$ERR" "s3cret-pw" "$tag: no password in the output"
	check_contains "$OUT" "schema Tenant C" "$tag: a target is shown with its schema"
	dbs fleet rollback --steps 1
	check_rc 0 "$tag: fleet rollback on the schemas"
	check_eq "$(sql "$url" "SELECT count(*) FROM information_schema.tables WHERE table_name = 'b'")" "0" "$tag: undoes 2_b in every schema"
	check_eq "$(sql "$url" "SELECT count(*) FROM information_schema.tables WHERE table_name = 'a'")" "3" "$tag: and leaves 1_a"
	# a migrate of the database itself keeps its own history, in public
	dbs --database "$url" migrate
	check_rc 0 "$tag: the database's own migrate"
	check_eq "$(sql "$url" "SELECT count(*) FROM public.dbshift_migrations WHERE status = 'applied'")" "2" "$tag: keeps its history in public, apart from the tenants'"
	cd "$WORK" || return
}

# Ctrl-C: no new target starts; a running one ends the migration it is
# in and starts no other.
# interrupted_fleet TAG WHILE COMMAND...: 'dbshift fleet COMMAND' with
# target 1's first migration waiting for a table lock held here; WHILE (a
# function, or :) runs while it waits; then Ctrl-C, which must not cut
# that migration, and the lock let go: RC and OUT of the run.
interrupted_fleet() {
	local tag=$1 while=$2 pid waiting
	shift 2
	waiting="SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO pre%'"
	pg_hold "${FLEET_URLS[1]}" "LOCK TABLE pre IN ACCESS EXCLUSIVE MODE"
	"$DBSHIFT" fleet "$@" >"$WORK/fleet_interrupted.out" 2>&1 &
	pid=$!
	wait_for "${FLEET_URLS[1]}" "$waiting" 1  # once target 1's migration waits
	"$while"
	kill -INT "$pid"
	# the signal is taken while the migration still waits: it goes on
	check_eq "$(sql "${FLEET_URLS[1]}" "$waiting")" "1" "$tag: the running migration is not cut by Ctrl-C"
	pg_release
	wait "$pid"
	RC=$? OUT=$(cat "$WORK/fleet_interrupted.out") ERR=
}

t_fleet_stop() {
	project fleet_stop
	local tag="postgres fleet stop" i
	FLEET_URLS=()
	: > targets.txt
	for i in 1 2 3; do
		FLEET_URLS[$i]=$(newdb "fleet_stop$i")
		sql "${FLEET_URLS[$i]}" "CREATE TABLE pre (id int)" >/dev/null
		echo "${FLEET_URLS[$i]}" >> targets.txt
	done
	printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO pre VALUES (1);\n-- migrate:down\nDROP TABLE a;\nDELETE FROM pre;\n' > migrations/1_a.sql
	printf -- '-- migrate:up\nCREATE TABLE b (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE b;\n' > migrations/2_b.sql
	local home; home=$(newdb fleet_home)
	printf '[dbshift]\ndatabase = %s\n\n[fleet]\ntargets = targets.txt\njobs = 1\n' "$home" > dbshift.conf
	stop_live_row() {  # while target 1 waits: who holds the lock, and the fleet's live row
		# the session that runs the migration is the one holding the migrator lock
		check_eq "$(sql "${FLEET_URLS[1]}" "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND a.wait_event_type = 'Lock' AND a.query LIKE '%INSERT INTO pre%'")" \
			"1" "$tag: the migrator lock is held by the migration's own session"
		# the fleet's live row, in the database of dbshift.conf
		wait_for "$home" "SELECT report::json->'items'->>'total' FROM dbshift_runs WHERE status = 'running'" 3 \
			|| not_ok "$tag: the fleet's live row"
		check_eq "$(sql "$home" "SELECT command || ' ' || (report::json->'items'->>'step') || ' ' || (report::json->'items'->>'done') || '/' || (report::json->'items'->>'total') FROM dbshift_runs WHERE status = 'running'")" \
			"fleet migrate targets, 1 running 0/3" "$tag: the live row shows the targets running, done and in all"
		dbs status --runs
		check_contains "$OUT" "fleet migrate" "$tag: status --runs shows the fleet"
		check_contains "$OUT" "0/3 items" "$tag: with its progress"
	}
	interrupted_fleet "$tag" stop_live_row migrate
	check_rc 1 "$tag: an interrupted fleet fails"
	check_eq "$(fleet_versions)" "1:1 2:- 3:-" "$tag: the running target ends the migration it is in, and starts no other; no other target starts"
	check_contains "$OUT" "stopped before 2_b up: 1 of 2 migrations ran" "$tag: the running target says where it stopped"
	check_contains "$OUT" "not started: stopped (interrupted)" "$tag: the others are not started, and why"
	check_contains "$OUT" "error: 1 of 3 targets failed, 2 not started" "$tag: the summary"
	check_eq "$(sql "$home" "SELECT command || ' ' || status || ' ' || (report::json->'summary'->>'failed') || ' ' || (report::json->'summary'->>'skipped') FROM dbshift_runs")" \
		"fleet migrate failed 1 2" "$tag: the fleet's row holds its end"
	dbs fleet migrate --only-failed
	check_rc 0 "$tag: --only-failed finishes what was stopped"
	check_eq "$(fleet_versions)" "1:1,2 2:1,2 3:1,2" "$tag: every target"
	cd "$WORK" || return
}

# A fleet release stopped (Ctrl-C) while a target's migrate step runs:
# that migration ends, no further step starts, no other target starts.
t_fleet_stop_release() {
	project fleet_stop_release
	local tag="postgres fleet release stop" i
	FLEET_URLS=()
	: > targets.txt
	for i in 1 2; do
		FLEET_URLS[$i]=$(newdb "fleet_stoprel$i")
		sql "${FLEET_URLS[$i]}" "CREATE TABLE pre (id int PRIMARY KEY)" >/dev/null
		echo "${FLEET_URLS[$i]}" >> targets.txt
	done
	printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO pre VALUES (1);\n-- migrate:down\nDROP TABLE a;\nDELETE FROM pre;\n' > migrations/1_a.sql
	printf '[release]\nsteps = migrate verify\n\n[fleet]\ntargets = targets.txt\njobs = 1\n' > dbshift.conf
	interrupted_fleet "$tag" : release
	check_rc 1 "$tag: an interrupted fleet release fails"
	check_eq "$(fleet_versions)" "1:1 2:-" "$tag: the running migration ends; no other target starts"
	check_eq "$(sql "${FLEET_URLS[1]}" "SELECT string_agg((s->>'step') || ' ' || (s->>'status') || coalesce(' (' || (s->>'reason') || ')', ''), ', ') FROM dbshift_runs, json_array_elements(report::json->'steps') s WHERE command = 'release'")" \
		"migrate succeeded, verify skipped (stopped (interrupted))" "$tag: no further step of the runbook starts"
	check_contains "$OUT" "stopped before step verify: 1 of 2 steps ran" "$tag: the target says where it stopped"
	dbs fleet release --only-failed
	check_rc 0 "$tag: --only-failed finishes it"
	check_eq "$(fleet_versions)" "1:1 2:1" "$tag: every target"
	cd "$WORK" || return
}
