# t_live.sh - a running run seen from elsewhere: its 'running' row in
# dbshift_runs with progress and a heartbeat, status --runs, watch, and
# serve (the page in a real browser, the JSON endpoints, /metrics checked
# by promtool, the token).  Every wait is for something observable, with a
# deadline: a row, a line of output, a value in a JSON document.

# serve_start URL [OPTIONS...]: dbshift serve on a free loopback port, in
# the background; SERVE (http://127.0.0.1:PORT/) once it listens.
serve_start() {
	BODY= CODE=
	local url=$1
	shift
	rm -f "$WORK/serve.out"  # never read the last server's address
	"$DBSHIFT" --database "$url" serve --listen 127.0.0.1:0 "$@" >"$WORK/serve.out" 2>&1 &
	SERVE_PID=$!
	SERVE=
	until_ok 30 grep -qs "^serving" "$WORK/serve.out" || { serve_stop; return 1; }
	SERVE=$(sed -n 's/^serving .* on \(http:[^ ]*\).*/\1/p' "$WORK/serve.out")
}

serve_stop() {
	kill "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
}

# get PATH [CURL OPTIONS...]: BODY and CODE of a GET.
get() {
	local path=$1
	shift
	BODY=$(curl -s -w '\n%{http_code}' "$@" "$SERVE$path")
	CODE=${BODY##*$'\n'}
	BODY=${BODY%$'\n'*}
}

# field RUN_ID JQ: a value of /api/runs/RUN_ID.
field() {
	get "api/runs/$1"
	printf '%s' "$BODY" | jq -r "$2" 2>/dev/null
}

rows_above() {  # RUN_ID N: rows_done of the run is above N
	local v; v=$(field "$1" '.data.rows_done // 0')
	[ -n "$v" ] && [ "$v" -gt "$2" ]
}

field_is() {  # RUN_ID JQ WANT
	[ "$(field "$1" "$2")" = "$3" ]
}

# dom_rows: rows done as the page showed them in headless Chromium.
dom_rows() {
	chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$WORK/chromium" \
		--dump-dom "$SERVE" 2>/dev/null >"$WORK/dom.html"
	sed -n 's/.*data-rows-done="\([0-9]*\)".*/\1/p' "$WORK/dom.html" | head -n 1
}

first_run_is() {  # URL STATUS: the newest run of status --runs has STATUS
	first_run_field "$1" '.runs[0].status' "$2"
}

first_run_field() {  # URL JQ WANT: status --runs --json gives WANT (OUT: it)
	dbs --database "$1" status --runs --json
	[ "$(printf '%s' "$OUT" | jq -r "$2")" = "$3" ]
}

t_live() {
	project live
	local url; url=$(newdb live) tag="$DRIVER live view"
	fill_items "$url" 100000
	data_file
	sql "$url" "CREATE TABLE gate (ms int); INSERT INTO gate VALUES (0)" >/dev/null
	"$DBSHIFT" --database "$url" data run bump.sql --batch-size 20 --target-batch-ms 0 \
		--delay 20 --max-lag 1000 --lag-query "SELECT ms FROM gate" >"$WORK/live-run.out" 2>&1 &
	local pid=$!
	if ! wait_for "$url" "SELECT count(*) FROM dbshift_runs WHERE status = 'running'" 1 30; then
		not_ok "$tag: the data run is 'running' in dbshift_runs" "$(cat "$WORK/live-run.out")"
		kill -9 $pid; wait $pid 2>/dev/null; cd "$WORK" || return; return
	fi
	ok "$tag: the data run is 'running' in dbshift_runs"
	local id; id=$(sql "$url" "SELECT run_id FROM dbshift_runs WHERE status = 'running'")
	if ! serve_start "$url"; then
		not_ok "$tag: serve starts" "$(cat "$WORK/serve.out")"
		kill -9 $pid; wait $pid 2>/dev/null; cd "$WORK" || return; return
	fi
	ok "$tag: serve starts on loopback"

	# progress grows between two reads, with an ETA
	until_ok 30 rows_above "$id" 0
	local r1; r1=$(field "$id" '.data.rows_done')
	if until_ok 30 rows_above "$id" "$r1"; then ok "$tag: rows_done grows between two reads of /api/runs/ID"
	else not_ok "$tag: rows_done grows between two reads of /api/runs/ID" "$BODY"; fi
	check_eq "$(field "$id" '[.status, .command, .step, .data.rows_total, (.data.eta_s | type), (.heartbeat_age_ms < 5000)] | join(" ")')" \
		"running data run data bump.sql 100000 number true" "$tag: /api/runs/ID has status, step, total, an ETA and a fresh heartbeat"
	get "api/runs"
	check_eq "$(printf '%s' "$BODY" | jq -r '.runs[0] | [.run_id, .status, .data.file] | join(" ")')" \
		"$id running bump.sql" "$tag: /api/runs lists it first, running"
	dbs --database "$url" status --runs
	check_eq "$(printf "%s\n" "$OUT" | grep -cE "^$id +data run +running +")" "1" "$tag: status --runs shows it running"
	check_contains "$OUT" "data bump.sql, " "$tag: status --runs shows its step and rows"

	# the page in a real browser: the run, its step, and progress that grows
	local d1 d2
	d1=$(dom_rows)
	check_contains "$(cat "$WORK/dom.html")" "<code id=\"run-id\">$id</code>" "$tag: the page (headless Chromium) shows the run"
	check_contains "$(cat "$WORK/dom.html")" "<b id=\"step\">data bump.sql</b>" "$tag: the page shows its step"
	until_ok 30 rows_above "$id" "${d1:-0}"
	d2=$(dom_rows)
	if [ -n "$d1" ] && [ -n "$d2" ] && [ "$d2" -gt "$d1" ]; then ok "$tag: the page's progress grows between two loads ($d1, then $d2)"
	else not_ok "$tag: the page's progress grows between two loads" "first: '$d1', then: '$d2'"; fi
	mkdir -p "${ARTIFACTS:-$WORK}"
	local shot="${ARTIFACTS:-$WORK}/serve-$DRIVER.png"
	rm -f "$shot"
	chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$WORK/chromium" \
		--hide-scrollbars --window-size=1200,1100 --screenshot="$shot" "$SERVE" >/dev/null 2>&1
	check_eq "$(head -c 8 "$shot" 2>/dev/null | od -An -c | tr -d ' ')" '211PNG\r\n032\n' "$tag: headless Chromium takes a screenshot of the page"

	# /metrics is Prometheus text
	get "metrics"
	printf '%s\n' "$BODY" > "$WORK/metrics.txt"
	promtool check metrics < "$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1
	RC=$?
	OUT=$(cat "$WORK/promtool.out")
	check_rc 0 "$tag: promtool check metrics accepts /metrics"
	check_contains "$BODY" "dbshift_run_running 1" "$tag: /metrics says a run is running"
	check_eq "$(grep -c '^dbshift_data_rows_done [0-9][0-9]*$' "$WORK/metrics.txt")" "1" "$tag: /metrics has dbshift_data_rows_done"
	check_contains "$BODY" 'dbshift_migrations_pending 0' "$tag: /metrics has dbshift_migrations_pending"

	# waiting for replica lag is shown; then the run is parked there
	sql "$url" "UPDATE gate SET ms = 5000" >/dev/null
	if until_ok 30 field_is "$id" '.data.waiting_for_lag' true; then ok "$tag: a wait for replica lag shows in the run"
	else not_ok "$tag: a wait for replica lag shows in the run" "$BODY"; fi
	# the sqlite pass left its own watch.out: gone first, or the poll below
	# could read it before the background job's redirection empties it
	rm -f "$WORK/watch.out"
	"$DBSHIFT" --database "$url" watch "$id" >"$WORK/watch.out" 2>&1 &
	local wpid=$!
	if until_ok 60 grep -qs "waiting for replica lag" "$WORK/watch.out"; then
		check_contains "$(cat "$WORK/watch.out")" "$id  running  data bump.sql, " "$tag: watch follows the run"
	else  # say what watch was doing
		not_ok "$tag: watch follows the run" "watch printed: $(cat "$WORK/watch.out")
$(ps -o pid,stat,etime,wchan:32,args -p "$wpid" 2>&1)
$(tail -n 5 logs/dbshift.log)"
	fi

	# the heartbeat goes on while the run waits
	local b1; b1=$(sql "$url" "SELECT heartbeat_ms FROM dbshift_runs WHERE run_id = '$id'")
	if wait_for "$url" "SELECT heartbeat_ms > $b1 FROM dbshift_runs WHERE run_id = '$id'" "$([ "$DRIVER" = postgres ] && echo t || echo 1)" 30; then
		ok "$tag: the heartbeat goes on"; else not_ok "$tag: the heartbeat goes on"; fi

	# killed: abandoned, and watch ends with exit 1
	kill -9 $pid
	wait $pid 2>/dev/null
	if until_ok 30 field_is "$id" .status abandoned; then ok "$tag: a killed run shows as abandoned"
	else not_ok "$tag: a killed run shows as abandoned" "$BODY"; fi
	wait $wpid
	RC=$?
	OUT=$(cat "$WORK/watch.out")
	check_rc 1 "$tag: watch ends with exit 1 when the run is abandoned"
	check_contains "$OUT" "$id  abandoned  data bump.sql" "$tag: watch says the run was abandoned"
	dbs --database "$url" status --runs --json
	check_eq "$(printf '%s' "$OUT" | jq -r '.runs[0].status')" "abandoned" "$tag: status --runs says abandoned"
	# seen from another host, only the heartbeat tells
	if [ "$DRIVER" = postgres ]; then
		sql "$url" "UPDATE dbshift_runs SET report = jsonb_set(report, '{host}', '\"elsewhere\"') WHERE run_id = '$id'" >/dev/null
	else
		sql "$url" "UPDATE dbshift_runs SET report = json_set(report, '\$.host', 'elsewhere') WHERE run_id = '$id'" >/dev/null
	fi
	printf '[dbshift]\nheartbeat_timeout = 1h\n' > dbshift.conf
	dbs --database "$url" status --runs --json
	check_eq "$(printf '%s' "$OUT" | jq -r '.runs[0].status')" "running" "$tag: another host's run with a recent heartbeat counts as running"
	printf '[dbshift]\nheartbeat_timeout = 1s\n' > dbshift.conf
	if until_ok 10 first_run_is "$url" abandoned; then ok "$tag: past heartbeat_timeout it is abandoned"
	else not_ok "$tag: past heartbeat_timeout it is abandoned" "$OUT"; fi
	rm -f dbshift.conf
	serve_stop

	# a rerun resumes, finishes, and its report says what the database did
	sql "$url" "UPDATE gate SET ms = 0" >/dev/null
	dbs --database "$url" data run bump.sql
	check_rc 0 "$tag: a rerun finishes the data run"
	local last; last=$(sql "$url" "SELECT run_id FROM dbshift_runs ORDER BY started_at DESC, run_id DESC LIMIT 1")
	check_eq "$(sql "$url" "SELECT status FROM dbshift_runs WHERE run_id = '$last'")" "succeeded" "$tag: the rerun's row is succeeded"
	check_eq "$(sql "$url" "SELECT report FROM dbshift_runs WHERE run_id = '$last'" | jq -r '.database_activity | has("rows_updated")')" \
		"$([ "$DRIVER" = postgres ] && echo true || echo false)" "$tag: the report has the database's activity over the run (where it counts)"
	cd "$WORK" || return
}

# serve's guard: beyond loopback only with a token; every request with it.
t_live_token() {
	project livetoken
	local url; url=$(newdb livetoken) tag="$DRIVER serve token"
	dbs --database "$url" serve --listen 0.0.0.0:0
	check_rc 2 "$tag: a non-loopback address without a token is refused"
	check_contains "$ERR" "no token guards it" "$tag: it says why"
	check_contains "$ERR" "serve_token_file" "$tag: and what to set"
	printf 'short\n' > token
	printf '[dbshift]\nserve_token_file = token\n' > dbshift.conf
	dbs --database "$url" serve --listen 0.0.0.0:0
	check_rc 2 "$tag: a short token is refused"
	check_contains "$ERR" "shorter than 16 characters" "$tag: it says the token is short"
	local tok=0123456789abcdef0123456789abcdef
	printf '%s\n' "$tok" > token
	chmod 600 token
	if ! serve_start "$url"; then
		not_ok "$tag: serve starts with a token" "$(cat "$WORK/serve.out")"; cd "$WORK" || return; return
	fi
	check_contains "$(cat "$WORK/serve.out")" "a token is required" "$tag: serve says a token is required"
	check_lacks "$(cat "$WORK/serve.out")" "$tok" "$tag: serve never prints the token"
	get "api/runs"
	check_eq "$CODE" "401" "$tag: no token: 401"
	get "api/runs" -H "Authorization: Bearer wrong-token-0123456789"
	check_eq "$CODE" "401" "$tag: a wrong token: 401"
	get "metrics" -H "Authorization: Bearer $tok"
	check_eq "$CODE" "200" "$tag: the bearer token: 200"
	get "api/status?token=$tok"
	check_eq "$CODE" "200" "$tag: ?token=: 200"
	check_eq "$(printf '%s' "$BODY" | jq -r .command)" "status" "$tag: /api/status is the status document"
	get "api/runs/nope?token=$tok"
	check_eq "$CODE" "404" "$tag: an unknown run: 404"
	get "api/runs?token=$tok" -X POST
	check_eq "$CODE" "405" "$tag: POST: 405 (read-only)"
	get "api/runs?token=$tok" -X DELETE
	check_eq "$CODE" "405" "$tag: DELETE: 405"
	serve_stop
	rm -f dbshift.conf
	dbs --database "$url" serve --listen nohost
	check_rc 2 "$tag: a listen address without a port is a usage error"
	dbs --database "$url" watch no-such-run
	check_rc 2 "$tag: watch of an unknown run: exit 2"
	check_contains "$ERR" "no run 'no-such-run' in this database" "$tag: watch names the run it did not find"
	dbs --database "$url" watch a b
	check_rc 2 "$tag: watch follows one run"
	dbs --database "$url" status --runs --limit 0
	check_rc 2 "$tag: status --runs --limit 0 is a usage error"
	dbs --database "$url" status --limit 3
	check_rc 2 "$tag: --limit without --runs is a usage error"
	dbs --database "$url" status --runs
	check_rc 0 "$tag: status --runs of a database with no history"
	check_contains "$OUT" "no runs recorded yet" "$tag: says there are none"
	cd "$WORK" || return
}

# PostgreSQL's own view of the running statement: CREATE INDEX
# CONCURRENTLY waiting for a writer shows its phase, its percentage and
# who blocks it; the password shows nowhere.
t_live_pg() {
	project livepg
	local url; url=$(newdb livepg) tag="postgres live view"
	sql "$url" "CREATE TABLE big (id bigint PRIMARY KEY, v int); INSERT INTO big SELECT g, g FROM generate_series(1, 50000) g" >/dev/null
	printf -- '-- dbshift:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY big_v ON big (v);\n-- migrate:down\nDROP INDEX CONCURRENTLY big_v;\n' > migrations/001_big_v.sql
	pg_hold "$url" "INSERT INTO big VALUES (0, 0)"
	local hpid; hpid=$(sql "$url" "SELECT pid FROM pg_stat_activity WHERE application_name = 'dbshift_test_holder'")
	"$DBSHIFT" --database "$url" migrate >"$WORK/livepg.out" 2>&1 &
	local pid=$!
	wait_for "$url" "SELECT count(*) FROM dbshift_runs WHERE status = 'running'" 1 30
	local id; id=$(sql "$url" "SELECT run_id FROM dbshift_runs WHERE status = 'running'")
	if ! serve_start "$url"; then
		not_ok "$tag: serve starts" "$(cat "$WORK/serve.out")"
		pg_release; wait $pid; cd "$WORK" || return; return
	fi
	if until_ok 30 field_is "$id" '.server.progress[0].view' create_index; then ok "$tag: pg_stat_progress_create_index shows in the run"
	else not_ok "$tag: pg_stat_progress_create_index shows in the run" "$BODY"; fi
	check_eq "$(field "$id" '.server.progress[0] | [.relation, (.phase | startswith("waiting for")), .unit, (.percent | type)] | map(tostring) | join(" ")')" \
		"big true lockers number" "$tag: its phase, the unit it counts and its percentage"
	check_eq "$(field "$id" '.server.lock_waits[0] | [.blocker_pid, .blocker_state] | map(tostring) | join(" ")')" \
		"$hpid idle in transaction" "$tag: the lock wait names the session that blocks it"
	until_ok 30 field_is "$id" .step "001_big_v up"
	check_eq "$(field "$id" '[.step, .steps_done, .steps_total] | map(tostring) | join(" ")')" "001_big_v up 0 1" "$tag: the step being run, of how many"
	wait_for "$url" "SELECT (extract(epoch FROM now()) * 1000)::bigint - heartbeat_ms < 3000 FROM dbshift_runs WHERE run_id = '$id'" t 30
	check_eq "$?" "0" "$tag: the heartbeat goes on while the statement waits"
	"$DBSHIFT" --database "$url" watch "$id" >"$WORK/watchpg.out" 2>&1 &
	local wpid=$!
	until_ok 30 grep -qs "held by pid $hpid" "$WORK/watchpg.out"
	check_contains "$(cat "$WORK/watchpg.out")" "create_index on big: waiting for" "$tag: watch shows the index build's phase"
	check_contains "$(cat "$WORK/watchpg.out")" "held by pid $hpid (user postgres, idle in transaction" "$tag: watch shows who blocks it"
	get "api/status"
	check_eq "$(printf '%s' "$BODY" | jq -r '.migrations[] | "\(.version) \(.state)"')" "001 running" \
		"$tag: the migration outside a transaction shows running, not failed"
	get "metrics"
	check_contains "$BODY" 'dbshift_migrations{state="running"} 1' "$tag: /metrics counts it running"
	check_contains "$BODY" 'dbshift_migrations{state="failed"} 0' "$tag: and not failed"
	dbs --database "$url" status
	check_contains "$OUT" "0 failed, 1 running" "$tag: status says running"
	get "api/metrics"
	check_eq "$(printf '%s' "$BODY" | jq -r '[.metrics[] | select(.name == "commits")] | length')" "1" "$tag: /api/metrics has pg_stat_database's commits"
	check_eq "$(printf '%s' "$BODY" | jq -r '.run.run_id')" "$id" "$tag: /api/metrics has rates over the running run"
	check_eq "$(printf '%s' "$BODY" | jq -r '[.metrics[] | select(.name == "connections")] | length > 0')" "true" "$tag: /api/metrics has connections by state"
	local all=""
	for p in "" "live" "api/runs" "api/runs/$id" "api/status" "api/metrics" "metrics"; do
		get "$p"
		all="$all$BODY"
	done
	check_lacks "$all" "$PG_PASSWORD" "$tag: the password is on no page, in no JSON and in no metric"
	check_contains "$all" "postgres://postgres@127.0.0.1" "$tag: the database is shown without it"
	pg_release
	wait $pid
	RC=$?
	OUT=$(cat "$WORK/livepg.out")
	check_rc 0 "$tag: the migration finishes once the writer is gone"
	wait $wpid
	RC=$?
	OUT=$(cat "$WORK/watchpg.out")
	check_rc 0 "$tag: watch ends with exit 0 when the run succeeded"
	check_contains "$OUT" "$id  succeeded  1 succeeded, 0 failed" "$tag: watch says how it ended"
	check_eq "$(field "$id" '[.status, (.database_activity.commits > 0)] | map(tostring) | join(" ")')" "succeeded true" "$tag: the report has the commits during the run"
	serve_stop
	cd "$WORK" || return
}

# A release in the live row: its step, how many, and within a step what
# it is doing; the hook waits for a file the test writes.
t_live_release() {
	project liverel
	local url; url=$(newdb liverel) tag="$DRIVER live release"
	printf -- '-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n' > migrations/001_t.sql
	printf '#!/bin/sh\nwhile [ ! -f go ]; do sleep 0.1; done\n' > wait.sh
	chmod +x wait.sh
	printf '[release]\nsteps = migrate hook:wait verify\n[hook "wait"]\nrun = ./wait.sh\ntimeout = 120s\n' > dbshift.conf
	"$DBSHIFT" --database "$url" release >"$WORK/liverel.out" 2>&1 &
	local pid=$!
	if wait_for "$url" "SELECT count(*) FROM dbshift_runs WHERE status = 'running' AND command = 'release'" 1 30; then
		ok "$tag: the release is running in dbshift_runs"
	else
		not_ok "$tag: the release is running in dbshift_runs" "$(cat "$WORK/liverel.out")"
	fi
	local id; id=$(sql "$url" "SELECT run_id FROM dbshift_runs WHERE status = 'running'")
	until_ok 30 first_run_field "$url" '.runs[0].step' hook:wait
	check_eq "$(printf '%s' "$OUT" | jq -r '.runs[0] | [.command, .status, .step, .steps_done, .steps_total] | map(tostring) | join(" ")')" \
		"release running hook:wait 1 3" "$tag: its step, and the steps done of how many"
	touch go
	wait $pid
	RC=$?
	OUT=$(cat "$WORK/liverel.out")
	check_rc 0 "$tag: the release finishes"
	check_eq "$(sql "$url" "SELECT status FROM dbshift_runs WHERE run_id = '$id'")" "succeeded" "$tag: its row ends succeeded"
	cd "$WORK" || return
}
