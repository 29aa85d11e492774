# t_lock_retry.sh - lock-aware DDL: with lock_timeout set, a migration that
# cannot get its lock gives up, rolls back and retries on the schedule; it
# succeeds once the other session lets go, and fails cleanly, changing
# nothing, when it never does.

hold_lock() {  # URL SECONDS [MODE]: a session holding a lock on items for SECONDS
	(printf 'BEGIN;\nLOCK TABLE items IN %s MODE;\nSELECT pg_sleep(%s);\nCOMMIT;\n' "${3:-ACCESS SHARE}" "$2") |
		psql -X -q "$1" >/dev/null 2>&1 &
	HOLDER=$!
	local i=0
	while [ "$(sql "$1" "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'items' AND l.granted AND l.pid <> pg_backend_pid()")" = 0 ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

t_lock_retry() {
	project lockretry
	local url; url=$(newdb lockretry) tag="postgres lock retry"
	good_migration 1_items.sql items
	dbs --database "$url" migrate
	printf -- '-- migrate:up\nALTER TABLE items ADD COLUMN note text;\n' > migrations/2_note.sql
	printf '[dbshift]\nlock_timeout = 200ms\nlock_retries = 500ms, 500ms, 1s, 2s, 2s, 2s\n' > dbshift.conf

	hold_lock "$url" 2
	dbs --database "$url" --json migrate
	check_rc 0 "$tag: succeeds once the lock is released"
	check_eq "$(echo "$OUT" | jq -r '.steps[0].attempts > 1')" "true" "$tag: after more than one attempt"
	check_contains "$(cat logs/dbshift.log)" "2_note: attempt 1 of 7 gave up waiting for a lock (canceling statement due to lock timeout); retrying in" "$tag: every attempt is logged"
	check_contains "$ERR" "dbshift: 2_note up: attempt 1 of 7 gave up waiting for a lock (canceling statement due to lock timeout); retrying in" \
		"$tag: and shown as it happens"
	check_eq "$(sql "$url" "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'note'")" "1" "$tag: the column is there"
	wait $HOLDER

	printf -- '-- migrate:up\nALTER TABLE items ADD COLUMN memo text;\n' > migrations/3_memo.sql
	printf '[dbshift]\nlock_timeout = 100ms\nlock_retries = 100ms, 100ms\n' > dbshift.conf
	hold_lock "$url" 30
	local before; before=$(snapshot "$url" | grep -v '^[0-9]*$')
	dbs --database "$url" migrate
	check_rc 1 "$tag: a lock never released fails"
	check_eq "$(echo "$ERR" | grep -c 'dbshift: 3_memo up: attempt [12] of 3 gave up waiting for a lock')" "2" \
		"$tag: each retry is shown"
	check_eq "$(echo "$ERR" | grep -A1 '^dbshift: error:')" "dbshift: error: migrations/3_memo.sql:2:1: canceling statement due to lock timeout
DETAIL: gave up after 3 attempts: the lock stayed taken by another session" "$tag: after the last attempt, says so"
	check_eq "$(snapshot "$url" | grep -v '^[0-9]*$')" "$before" "$tag: and changes nothing"
	pg_kill_sleepers "$url"; wait $HOLDER 2>/dev/null
	dbs --database "$url" migrate --lock-timeout 5000
	check_rc 0 "$tag: --lock-timeout from the command line"

	# a data-run batch that cannot get its lock is retried the same way
	sql "$url" "INSERT INTO items (id) SELECT g FROM generate_series(1, 3000) g" >/dev/null
	printf -- "-- dbshift:table items\n-- dbshift:key id\nUPDATE items SET note = 'n' WHERE id > :lo AND id <= :hi;\n" > note.sql
	printf '[dbshift]\nlock_timeout = 200ms\nlock_retries = 500ms, 500ms, 1s, 2s, 2s, 2s\n' > dbshift.conf
	hold_lock "$url" 2 EXCLUSIVE
	dbs --database "$url" -q data run note.sql
	check_rc 0 "$tag: a data run waits out the lock, batch by batch"
	check_contains "$(cat logs/dbshift.log)" "data note.sql: batch after key 0: attempt 1 of 7 gave up waiting for a lock" "$tag: its attempts are logged"
	check_eq "$ERR" "" "$tag: with -q, not shown"
	check_eq "$(sql "$url" "SELECT count(*) FROM items WHERE note = 'n'")" "3000" "$tag: and changes every row"
	wait $HOLDER
	cd "$WORK" || return
}
