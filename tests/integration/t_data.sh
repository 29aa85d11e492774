# t_data.sh - batched data migrations: every row changed exactly once, a
# killed run resumes without redoing committed batches, --dry-run changes
# nothing, SIGINT stops after the batch, lag throttling, and a schema
# migration's data migration.

data_file() {
	cat > bump.sql <<'SQL'
-- dbshift:table items
-- dbshift:key id
-- dbshift:pending done IS NULL
UPDATE items SET n = n + 1, done = 1 WHERE id > :lo AND id <= :hi AND done IS NULL;
SQL
}

fill_items() {  # URL COUNT
	sql "$1" "CREATE TABLE items (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0, done int)" >/dev/null
	if [ "$DRIVER" = postgres ]; then
		sql "$1" "INSERT INTO items (id) SELECT g FROM generate_series(1, $2) g; ANALYZE items" >/dev/null
	else
		sql "$1" "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $2) INSERT INTO items (id) SELECT x FROM c" >/dev/null
	fi
}

t_data() {
	project data
	local url; url=$(newdb data) tag="$DRIVER data run"
	fill_items "$url" 200000
	data_file

	local before; before=$(snapshot "$url")
	dbs --database "$url" data run bump.sql --dry-run
	check_rc 0 "$tag: --dry-run exits 0"
	check_eq "$OUT" "dry run: 200000 rows of items would change; nothing was changed" "$tag: --dry-run counts the rows"
	check_eq "$(snapshot "$url")" "$before" "$tag: --dry-run changes nothing"

	dbs --database "$url" --json data run bump.sql --batch-size 5000
	check_rc 0 "$tag: exits 0"
	check_eq "$(sql "$url" "SELECT n || ':' || count(*) FROM items GROUP BY n")" "1:200000" "$tag: every row changed exactly once"
	check_eq "$(echo "$OUT" | jq -c '.data | {rows_changed, finished, resumed}')" '{"rows_changed":200000,"finished":true,"resumed":false}' "$tag: the report counts them"
	check_eq "$(sql "$url" "SELECT rows_done || ':' || finished FROM dbshift_data")" "200000:1" "$tag: the checkpoint says finished"
	dbs --database "$url" data run bump.sql
	check_eq "$OUT" "data run: 0 rows changed in 0 batches (longest 0 ms); nothing left to do" "$tag: a finished run does nothing again"

	printf -- '-- dbshift:table items\n-- dbshift:key id\nUPDATE items SET n = 0;\n' > bad.sql
	dbs --database "$url" data run bad.sql
	check_rc 2 "$tag: a statement without :lo and :hi is an input error"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: bad.sql:1:1: the statement does not use both :lo and :hi" "$tag: and says so"

	# SIGINT: stop after the current batch, say how to resume
	sql "$url" "DELETE FROM dbshift_data; UPDATE items SET n = 0, done = NULL" >/dev/null
	"$DBSHIFT" --database "$url" data run bump.sql --batch-size 1000 --target-batch-ms 0 --delay 20 >"$WORK/int.out" 2>&1 &
	local pid=$! i=0
	while [ "$(sql "$url" "SELECT coalesce(max(rows_done), 0) FROM dbshift_data" 2>/dev/null)" = 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -INT $pid
	wait $pid
	RC=$?
	check_rc 0 "$tag: SIGINT stops cleanly"
	check_contains "$(cat "$WORK/int.out")" "; stopped after key " "$tag: says where it stopped"
	check_contains "$(cat "$WORK/int.out")" "again to resume" "$tag: and how to resume"
	check_eq "$(sql "$url" "SELECT (SELECT rows_done FROM dbshift_data) = (SELECT count(*) FROM items WHERE n = 1)")" "$([ "$DRIVER" = postgres ] && echo t || echo 1)" "$tag: the checkpoint matches the committed batches"

	# kill -9 in the middle, then rerun
	"$DBSHIFT" --database "$url" data run bump.sql --batch-size 2000 --target-batch-ms 0 --delay 20 >/dev/null 2>&1 &
	pid=$!
	i=0
	local start; start=$(sql "$url" "SELECT rows_done FROM dbshift_data")
	while [ "$(sql "$url" "SELECT rows_done FROM dbshift_data" 2>/dev/null)" = "$start" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 $pid
	wait $pid 2>/dev/null
	check_eq "$(sql "$url" "SELECT count(*) > 0 AND count(*) < 200000 FROM items WHERE n = 1")" "$([ "$DRIVER" = postgres ] && echo t || echo 1)" "$tag: killed in the middle"
	dbs --database "$url" --json data run bump.sql --batch-size 5000
	check_rc 0 "$tag: the rerun finishes"
	check_eq "$(echo "$OUT" | jq -r '.data.resumed')" "true" "$tag: it resumed from the checkpoint"
	check_eq "$(sql "$url" "SELECT n || ':' || count(*) FROM items GROUP BY n")" "1:200000" "$tag: no committed batch ran twice"

	# a schema migration that names a data migration
	good_migration 1_items_note.sql unused
	printf -- '-- dbshift:data ../fill_note.sql\n-- migrate:up\nALTER TABLE items ADD COLUMN note text;\n-- migrate:down\nALTER TABLE items DROP COLUMN note;\n' > migrations/2_note.sql
	printf -- "-- dbshift:table items\n-- dbshift:key id\nUPDATE items SET note = 'x' WHERE id > :lo AND id <= :hi;\n" > fill_note.sql
	dbs --database "$url" --json migrate
	check_rc 0 "$tag: migrate runs the named data migration"
	check_eq "$(echo "$OUT" | jq -r '[.steps[] | "\(.action) \(.version)"] | join(",")')" "up 1,up 2,data 2" "$tag: after the DDL step"
	check_eq "$(sql "$url" "SELECT count(*) FROM items WHERE note = 'x'")" "200000" "$tag: the data migration ran to the end"
	dbs --database "$url" --json redo
	check_rc 0 "$tag: redo of it exits 0"
	check_eq "$(echo "$OUT" | jq -r '[.steps[] | "\(.action) \(.version) \(.status)"] | join(",")')" "down 2 succeeded,up 2 succeeded,data 2 succeeded" "$tag: redo (one transaction) runs its data migration after"
	cd "$WORK" || return
}

t_data_lag() {
	project datalag
	local url; url=$(newdb datalag) tag="postgres data run lag"
	fill_items "$url" 20000
	data_file
	sql "$url" "CREATE TABLE fake_lag (ms int); INSERT INTO fake_lag VALUES (5000)" >/dev/null
	"$DBSHIFT" --database "$url" data run bump.sql --max-lag 1000 --lag-query "SELECT ms FROM fake_lag" >"$WORK/lag.out" 2>&1 &
	local pid=$!
	# once it says it waits (not after a sleep that a slow start outlasts)
	until_ok 60 grep -qs "waiting: replica lag 5000 ms" "$WORK/lag.out"
	check_contains "$(cat "$WORK/lag.out")" "waiting: replica lag 5000 ms" "$tag: it says it is waiting"
	check_eq "$(sql "$url" "SELECT count(*) FROM items WHERE n = 1")" "0" "$tag: nothing changes while the lag is high"
	sql "$url" "UPDATE fake_lag SET ms = 10" >/dev/null
	wait $pid
	RC=$?
	check_rc 0 "$tag: finishes once the lag is low"
	check_eq "$(sql "$url" "SELECT count(*) FROM items WHERE n = 1")" "20000" "$tag: then changes every row"
	cd "$WORK" || return
}
