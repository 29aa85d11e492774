#!/usr/bin/env bash
# data.sh [ROWS] - backfill ROWS (default 10,000,000) rows on PostgreSQL:
# dbshift data run (keyset batches) next to one plain UPDATE of the same
# rows and next to OFFSET batching of the same batch size (stopped after
# OFFSET_SECONDS, default 120: it is quadratic).  Prints rows per second
# and the longest single batch.
. "$(dirname "$0")/common.sh" postgres
ROWS=${1:-10000000}
BATCH=${BATCH:-10000}
OFFSET_SECONDS=${OFFSET_SECONDS:-120}
url=$(pg_newdb databench)
cd "$WORK"
psql() { PGOPTIONS="-c client_min_messages=warning" command psql -X -q -v ON_ERROR_STOP=1 "$url" "$@"; }
reset() {
	psql -c "DROP TABLE IF EXISTS items; DROP TABLE IF EXISTS dbshift_data" \
	     -c "CREATE TABLE items (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0, done int)" \
	     -c "INSERT INTO items (id) SELECT g FROM generate_series(1, $ROWS) g" -c "VACUUM ANALYZE items"
}
now() { date +%s.%N; }

cat > bump.sql <<'SQL'
-- dbshift:table items
-- dbshift:key id
UPDATE items SET n = n + 1, done = 1 WHERE id > :lo AND id <= :hi;
SQL

reset
t0=$(now)
"$DBSHIFT" --database "$url" --json data run bump.sql --batch-size "$BATCH" --target-batch-ms 0 > ds.json
t1=$(now)
ds_secs=$(echo "$t1 - $t0" | bc -l)
ds_longest=$(jq '.data.longest_batch_ms' ds.json)

reset
t0=$(now)
psql -c "UPDATE items SET n = n + 1, done = 1"
t1=$(now)
plain_secs=$(echo "$t1 - $t0" | bc -l)

reset
# OFFSET batching: each batch skips the rows before it again
done_rows=0 longest=0
t0=$(now)
while :; do
	b0=$(date +%s%N)
	psql -c "UPDATE items SET n = n + 1 WHERE id IN (SELECT id FROM items ORDER BY id OFFSET $done_rows LIMIT $BATCH)"
	b1=$(date +%s%N)
	ms=$(( (b1 - b0) / 1000000 ))
	[ $ms -gt $longest ] && longest=$ms
	done_rows=$((done_rows + BATCH))
	[ $done_rows -ge "$ROWS" ] && break
	[ "$(echo "$(now) - $t0 > $OFFSET_SECONDS" | bc -l)" = 1 ] && break
done
t1=$(now)
off_secs=$(echo "$t1 - $t0" | bc -l)

printf '%-32s %12s %14s %18s\n' method rows seconds "rows/s (longest)"
printf '%-32s %12d %14.1f %10.0f (%d ms)\n' "dbshift data run, batch $BATCH" "$ROWS" "$ds_secs" "$(echo "$ROWS / $ds_secs" | bc -l)" "$ds_longest"
printf '%-32s %12d %14.1f %10.0f (one batch)\n' "one plain UPDATE" "$ROWS" "$plain_secs" "$(echo "$ROWS / $plain_secs" | bc -l)"
printf '%-32s %12d %14.1f %10.0f (%d ms, last batch)\n' "OFFSET batches of $BATCH" "$done_rows" "$off_secs" "$(echo "$done_rows / $off_secs" | bc -l)" "$longest"
