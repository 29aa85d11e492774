# t_notify.sh - notify_url: a POST on the start, success and failure of a
# run, to a real receiver on 127.0.0.1 (receiver.py); the report file in
# report_dir; a receiver that is down or slow is a warning, never a failure.

# receiver_start: a receiver in $WORK/recv, port in RECV_PORT (waits for it).
receiver_start() {
	rm -rf "$WORK/recv"
	mkdir -p "$WORK/recv"
	python3 "$HERE/receiver.py" "$WORK/recv" &
	RECV_PID=$!
	local i=0
	while [ ! -f "$WORK/recv/port" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	RECV_PORT=$(cat "$WORK/recv/port")
}

receiver_stop() {
	kill "$RECV_PID" 2>/dev/null
	wait "$RECV_PID" 2>/dev/null
}

# post N FILTER: jq FILTER of the body of the Nth POST received (1-based).
post() {
	sed -n "${1}p" "$WORK/recv/posts" 2>/dev/null | jq -r "$2"
}

posts() {
	[ -f "$WORK/recv/posts" ] && wc -l < "$WORK/recv/posts" || echo 0
}

t_notify() {
	project notify
	local url; url=$(newdb notify) tag="$DRIVER notify"
	receiver_start
	local hook="http://127.0.0.1:$RECV_PORT/hook/T0KEN-s3cret"
	printf '[dbshift]\nnotify_url = %s\n\n[env "staging"]\nnotify_on = failure\n' "$hook" > dbshift.conf
	good_migration 1_items.sql items
	local shown; shown=$("$DBSHIFT" --database "$url" --json status | jq -r .database)

	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate succeeds"
	check_eq "$(posts)" "2" "$tag: two POSTs: start and success"
	local id; id=$(post 1 .body.dbshift.run_id)
	check_eq "$(post 1 '[.path, .content_type, .body.dbshift.command, .body.dbshift.status, .body.dbshift.database] | join(" ")')" \
		"/hook/T0KEN-s3cret application/json migrate started $shown" "$tag: the start, as JSON, to the URL's path"
	check_eq "$(post 2 '[.body.dbshift.run_id, .body.dbshift.status, .body.dbshift.report, (.body.dbshift.duration_ms | type)] | join(" ")')" \
		"$id succeeded reports/$id.json number" "$tag: the success: same run, report path, duration"
	check_eq "$(post 2 .body.text | sed 's/([0-9]* ms)$/(N ms)/')" "dbshift migrate succeeded on $shown (N ms)" "$tag: Slack's text field"
	check_eq "$(jq -r '[.run_id, .status, .summary.succeeded] | join(" ")' "reports/$id.json")" "$id succeeded 1" "$tag: the report file in report_dir"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_runs WHERE run_id = '$id' AND status = 'succeeded'")" "1" "$tag: and the same run in dbshift_runs"
	check_lacks "$(cat "$WORK/recv/posts")" "s3cret-pw" "$tag: no password in any POST"

	printf -- '-- migrate:up\nCREATE TABLE dup (id int PRIMARY KEY);\nINSERT INTO dup VALUES (1), (1);\n-- migrate:down\nDROP TABLE dup;\n' > migrations/2_dup.sql
	dbs --database "$url" migrate
	check_rc 1 "$tag: a failing migration fails the run"
	check_eq "$(posts)" "4" "$tag: start and failure"
	check_eq "$(post 4 '[.body.dbshift.status, .body.dbshift.failed_step, (.body.dbshift.error.message | length > 0)] | join(" ")')" \
		"failed 2_dup up true" "$tag: the failure names the step and carries the error"
	check_contains "$(post 4 .body.text)" "dbshift migrate failed on $shown at 2_dup up: " "$tag: and says so in its text"
	rm migrations/2_dup.sql

	dbs --database "$url" rollback
	check_rc 0 "$tag: rollback"
	check_eq "$(post 5 .body.dbshift.command) $(post 6 .body.dbshift.command) $(post 6 .body.dbshift.status)" \
		"rollback rollback succeeded" "$tag: rollback notifies too"

	dbs --database "$url" --env staging migrate
	check_rc 0 "$tag: notify_on = failure"
	check_eq "$(posts)" "6" "$tag: a success sends nothing when only failures are asked for"

	dbs notify --test
	check_rc 0 "$tag: notify --test"
	check_eq "$(post 7 '[.body.dbshift.command, .body.dbshift.status] | join(" ")')" "notify --test succeeded" "$tag: the test message arrives"

	dbs --database "$url" backup
	check_rc 0 "$tag: backup"
	check_eq "$(post 8 '.body.dbshift | [.command, .status] | join(" ")'), $(post 9 '.body.dbshift | [.command, .status, (.duration_ms | type)] | join(" ")')" \
		"backup started, backup succeeded number" "$tag: a backup notifies its start and success"
	local bid; bid=$(post 9 .body.dbshift.run_id)
	check_eq "$(jq -r '[.command, .status, .summary.succeeded, (.backup.id | length > 0)] | join(" ")' "reports/$bid.json")" \
		"backup succeeded 1 true" "$tag: a backup writes its report, with its manifest, in report_dir"

	echo fail > "$WORK/recv/mode"
	dbs notify --test
	check_rc 1 "$tag: notify --test when the receiver answers 500"
	check_eq "$ERR" "dbshift: warning: notification of notify --test succeeded to http://127.0.0.1:$RECV_PORT failed after 3 attempts: HTTP status 500
dbshift: error: 1 notification failed
HINT: check notify_url and that its receiver is up" "$tag: it says so, naming only the origin"
	check_eq "$(posts)" "12" "$tag: three attempts"

	# the receiver slow: each attempt times out, the rollback still succeeds
	printf 'slow 3\n' > "$WORK/recv/mode"
	printf '[dbshift]\nnotify_url = %s\nnotify_on = success\nnotify_timeout = 300ms\n' "$hook" > dbshift.conf
	dbs --database "$url" rollback
	check_rc 0 "$tag: a slow receiver does not fail the rollback"
	check_contains "$ERR" "dbshift: warning: notification of rollback succeeded to http://127.0.0.1:$RECV_PORT failed after 3 attempts: " "$tag: it is a warning"
	check_lacks "$ERR" "T0KEN" "$tag: the URL's token is never shown"
	id=$(sql "$url" "SELECT run_id FROM dbshift_runs WHERE command = 'rollback' ORDER BY started_at DESC, run_id DESC LIMIT 1")
	check_contains "$(jq -r '.warnings[0]' "reports/$id.json")" "notification of rollback succeeded to http://127.0.0.1:$RECV_PORT failed" "$tag: and in the report"
	check_contains "$(cat logs/dbshift.log)" "warning: notification of rollback succeeded" "$tag: and in the log"
	receiver_stop

	# the receiver down: the migrate succeeds with a warning
	printf '[dbshift]\nnotify_url = http://127.0.0.1:%s/gone\n' "$RECV_PORT" > dbshift.conf
	dbs --database "$url" migrate
	check_rc 0 "$tag: a receiver that is down does not fail the migrate"
	check_eq "$(echo "$ERR" | grep -c 'dbshift: warning: notification of migrate')" "2" "$tag: a warning for the start and one for the success"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")" "1" "$tag: and it applied"

	: > "$WORK/notify-file"
	printf '[dbshift]\nreport_dir = %s/notify-file/reports\n' "$WORK" > dbshift.conf
	dbs --database "$url" rollback
	check_rc 0 "$tag: a report that cannot be written does not fail the run"
	check_contains "$ERR" "dbshift: warning: could not write the report $WORK/notify-file/reports/" "$tag: it is a warning"
	rm -f "$WORK/notify-file"

	printf '[dbshift]\nnotify_url = ftp://127.0.0.1/x\n' > dbshift.conf
	dbs --database "$url" status
	check_rc 2 "$tag: a notify_url that is not http(s) is an input error"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: dbshift.conf:2:1: bad notify_url 'ftp://127.0.0.1/x'" "$tag: naming file and line"
	printf '[dbshift]\nnotify_on = sometimes\n' > dbshift.conf
	dbs --database "$url" status
	check_rc 2 "$tag: an unknown notify_on word is an input error"
	cd "$WORK" || return
}
