# t_concurrent.sh - two migrators started together: each migration is
# applied exactly once; the second waits for the first, then has nothing to do.
# The lock holder is named when the wait runs out.

t_concurrent() {
	project concurrent
	local url; url=$(newdb concurrent) tag="postgres concurrent"
	printf -- '-- migrate:up\nCREATE TABLE ran (step int);\n' > migrations/1_table.sql
	printf -- '-- migrate:up\nINSERT INTO ran VALUES (2);\nSELECT pg_sleep(1);\n' > migrations/2_slow.sql
	printf -- '-- migrate:up\nINSERT INTO ran VALUES (3);\n' > migrations/3_more.sql
	"$DBSHIFT" --database "$url" migrate >"$WORK/c1.out" 2>&1 &
	local p1=$!
	"$DBSHIFT" --database "$url" migrate >"$WORK/c2.out" 2>&1 &
	local p2=$!
	wait $p1; local r1=$?
	wait $p2; local r2=$?
	RC="$r1$r2"
	check_rc 00 "$tag: both migrators exit 0"
	check_eq "$(sql "$url" "SELECT step FROM ran ORDER BY step")" "2
3" "$tag: each migration ran exactly once"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")" "3" "$tag: history has each once"
	check_contains "$(cat "$WORK/c1.out" "$WORK/c2.out")" "nothing to migrate" "$tag: the second found nothing left to do"
	cd "$WORK" || return
}

t_lock_holder() {
	project holder
	local url; url=$(newdb holder) tag="postgres lock holder"
	good_migration 1_one.sql one
	psql -X -q "$url" -c "SELECT pg_advisory_lock(7233752318769262592)" -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
	local holder=$!
	local i=0
	while [ "$(sql "$url" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" != 1 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	local before; before=$(snapshot "$url")
	dbs --database "$url" --lock-wait 1 migrate
	check_rc 1 "$tag: lock not acquired exits 1"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: another migrator holds the lock on this database" "$tag: message"
	check_contains "$ERR" "application 'psql'" "$tag: detail names who holds it"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	pg_kill_sleepers "$url"; wait $holder 2>/dev/null
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate once the holder is gone"
	cd "$WORK" || return
}

t_sqlite_lock_holder() {
	project sqholder
	local url; url=$(newdb sqholder) tag="sqlite lock holder"
	good_migration 1_one.sql one
	sleep 30 &
	local holder=$!
	sql "$url" "CREATE TABLE dbshift_lock (id integer PRIMARY KEY CHECK (id = 1), pid integer NOT NULL, host text NOT NULL, holder text NOT NULL, since text NOT NULL); INSERT INTO dbshift_lock VALUES (1, $holder, '$(hostname)', 'someone@$(hostname)', '2026-01-01 00:00:00+00')" >/dev/null
	dbs --database "$url" --lock-wait 0.5 migrate
	check_rc 1 "$tag: a live holder keeps the lock"
	check_contains "$ERR" "DETAIL: held by pid $holder on $(hostname) (someone@$(hostname)) since 2026-01-01 00:00:00+00" "$tag: detail names the holder"
	check_eq "$(table_exists "$url" one)" "0" "$tag: nothing ran"
	kill $holder; wait $holder 2>/dev/null
	dbs --database "$url" migrate
	check_rc 0 "$tag: a dead holder's lock is taken over"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_lock")" "0" "$tag: the lock is released after the run"
	cd "$WORK" || return
}
