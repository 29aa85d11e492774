# t_assess.sh - assess reports the live facts: a populated table's size and
# row estimate, and a transaction held open by another session as a blocker.

t_assess() {
	project assess
	local url; url=$(newdb assess) tag="postgres assess"
	good_migration 1_items.sql items
	dbs --database "$url" migrate
	# autovacuum would add the free-space and visibility-map forks at a time
	# of its own, between assess's size and the one compared with it: off
	# for this table, and the vacuum that makes them done now
	sql "$url" "ALTER TABLE items SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)" >/dev/null
	sql "$url" "INSERT INTO items SELECT g FROM generate_series(1, 20000) g" >/dev/null
	sql "$url" "VACUUM ANALYZE items" >/dev/null
	printf -- '-- migrate:up\nCREATE INDEX items_id_desc ON items (id DESC);\n' > migrations/2_index.sql

	dbs --database "$url" --json assess
	check_rc 1 "$tag: a red finding makes assess exit 1"
	check_eq "$(echo "$OUT" | jq -r '.tables[] | "\(.table) \(.exists) \(.rows) \(.indexes | join(", "))"')" "items true 20000 items_pkey" "$tag: the table's row estimate and indexes"
	check_eq "$(echo "$OUT" | jq -r '.tables[0].bytes == '"$(sql "$url" "SELECT pg_total_relation_size('items')")")" "true" "$tag: the table's size"
	check_eq "$(echo "$OUT" | jq -r '.estimates[] | "\(.line):\(.col) \(.what) \(.tables | join(", "))"')" "2:1 index build items" "$tag: the index build is estimated"
	check_eq "$(echo "$OUT" | jq -r '.blockers | length')" "0" "$tag: no blockers while nothing else runs"
	check_eq "$(echo "$OUT" | jq -r '.verdict')" "high" "$tag: verdict"

	# a session idle in a transaction that has read the table
	pg_hold "$url" "SELECT count(*) FROM items"
	local before; before=$(snapshot "$url")
	dbs --database "$url" assess
	check_contains "$OUT" "blockers now:
  pid " "$tag: the open transaction is listed"
	check_contains "$OUT" ", idle in transaction for " "$tag: as idle in transaction"
	check_contains "$OUT" "SELECT count(*) FROM items;" "$tag: with its last query"
	check_contains "$OUT" "holds a lock for " "$tag: and as holding a lock on the table"
	check_contains "$OUT" "AccessShareLock on items" "$tag: naming the lock and the table"
	check_contains "$OUT" "  items: " "$tag: text shows the table"
	check_contains "$OUT" "~20000 rows, indexes: items_pkey" "$tag: text shows rows and indexes"
	check_eq "$(snapshot "$url")" "$before" "$tag: assess changes nothing"
	pg_release

	# ACCESS EXCLUSIVE held on a touched table: assess does not hang, and
	# names the session that holds it
	pg_hold "$url" "LOCK TABLE items IN ACCESS EXCLUSIVE MODE"
	OUT=$(timeout 60 "$DBSHIFT" --database "$url" assess 2>&1)
	RC=$?
	check_rc 1 "$tag: assess finishes while the table is locked"
	check_contains "$OUT" "AccessExclusiveLock on items" "$tag: the holder of the lock is a blocker"
	check_contains "$OUT" "items: size unknown" "$tag: the locked table's size is unknown"
	pg_release
	cd "$WORK" || return
}
