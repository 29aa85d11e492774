# t_assess.sh - assess reports the live facts: a populated table's size and
# row estimate, and a transaction held open by another session as a blocker.

t_assess() {
	project assess
	local url; url=$(newdb assess) tag="postgres assess"
	good_migration 1_items.sql items
	dbs --database "$url" migrate
	sql "$url" "INSERT INTO items SELECT g FROM generate_series(1, 20000) g; ANALYZE items" >/dev/null
	printf -- '-- migrate:up\nCREATE INDEX items_id_desc ON items (id DESC);\n' > migrations/2_index.sql

	dbs --database "$url" --json assess
	check_rc 1 "$tag: a red finding makes assess exit 1"
	check_eq "$(echo "$OUT" | jq -r '.tables[] | "\(.table) \(.exists) \(.rows) \(.indexes)"')" "items true 20000 items_pkey" "$tag: the table's row estimate and indexes"
	check_eq "$(echo "$OUT" | jq -r '.tables[0].bytes == '"$(sql "$url" "SELECT pg_total_relation_size('items')")")" "true" "$tag: the table's size"
	check_eq "$(echo "$OUT" | jq -r '.estimates[] | "\(.line):\(.col) \(.what) \(.tables)"')" "2:1 index build items" "$tag: the index build is estimated"
	check_eq "$(echo "$OUT" | jq -r '.blockers | length')" "0" "$tag: no blockers while nothing else runs"
	check_eq "$(echo "$OUT" | jq -r '.verdict')" "dangerous" "$tag: verdict"

	# a session idle in a transaction that has read the table
	(printf 'BEGIN;\nSELECT count(*) FROM items;\n'; sleep 6) | psql -X -q "$url" >/dev/null 2>&1 &
	local holder=$! i=0
	while [ "$(sql "$url" "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")" != 1 ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
	local before; before=$(snapshot "$url")
	dbs --database "$url" assess
	check_contains "$OUT" "blockers now:
  pid " "$tag: the open transaction is listed"
	check_contains "$OUT" ", idle in transaction for " "$tag: as idle in transaction"
	check_contains "$OUT" "SELECT count(*) FROM items;" "$tag: with its last query"
	check_contains "$OUT" "  items: " "$tag: text shows the table"
	check_contains "$OUT" "~20000 rows, indexes: items_pkey" "$tag: text shows rows and indexes"
	check_eq "$(snapshot "$url")" "$before" "$tag: assess changes nothing"
	kill $holder 2>/dev/null; pg_kill_sleepers "$url"; wait $holder 2>/dev/null
	cd "$WORK" || return
}
