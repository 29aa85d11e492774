# t_verbose.sh - -v shows each statement's time (file:line) and the wait
# for the migrator lock; -q leaves only errors.

t_verbose() {
	project verbose
	local url; url=$(newdb verb) tag="$DRIVER verbose"
	printf -- '-- migrate:up\nCREATE TABLE v (id integer PRIMARY KEY);\nINSERT INTO v VALUES (1);\n\n  INSERT INTO v VALUES (2);\n-- migrate:down\nDROP TABLE v;\n' > migrations/1_v.sql
	dbs --database "$url" -v migrate
	check_rc 0 "$tag: migrate -v"
	check_eq "$(echo "$OUT" | sed -n 's/^  ran \(.*\) ([0-9.]* ms)$/\1/p' | tr '\n' ' ')" \
		"migrations/1_v.sql:2 migrations/1_v.sql:3 migrations/1_v.sql:5 " "$tag: each statement, at its line, with its time"
	check_contains "$OUT" "parsed 1 script, each at most 1 time" "$tag: and what was parsed"
	dbs --database "$url" -v --json rollback
	check_rc 0 "$tag: rollback -v --json"
	check_eq "$(echo "$OUT" | jq -r .command)" "rollback" "$tag: stdout holds only the document"
	check_contains "$ERR" "  ran migrations/1_v.sql:7 (" "$tag: the statements go to stderr then"
	dbs --database "$url" -q migrate
	check_rc 0 "$tag: migrate -q"
	check_eq "$OUT$ERR" "" "$tag: -q prints nothing when all is well"
	dbs --database "$url" -q rollback 999
	check_rc 2 "$tag: a bad rollback with -q"
	check_contains "$ERR" "dbshift: error:" "$tag: -q still prints the error"
	cd "$WORK" || return
}

t_verbose_lock() {
	project verbose_lock
	local url; url=$(newdb verb_lock) tag="postgres verbose"
	good_migration 1_one.sql one
	pg_hold "$url" "SELECT pg_advisory_lock(7233752318769262592)"
	dbs --database "$url" -v --lock-wait 500ms migrate
	check_rc 1 "$tag: lock not acquired"
	check_contains "$ERR" "dbshift: another migrator holds the lock (held by pid" "$tag: -v says it waits, and for whom"
	check_contains "$ERR" "application 'dbshift_test_holder'" "$tag: naming the holder"
	check_contains "$ERR" "): waiting up to 0.5 s" "$tag: and how long"
	pg_release
	cd "$WORK" || return
}
