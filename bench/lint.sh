#!/usr/bin/env bash
# lint.sh [N] - lint a generated corpus of N (default 10,000) migration
# statements of mixed DDL and DML; print statements per second and peak
# memory (maximum resident set size).
. "$(dirname "$0")/common.sh"
N=${1:-10000}
mkdir -p "$WORK/migrations"

# ten statements a file, a mix of what real migrations do
files=$(( (N + 9) / 10 ))
for i in $(seq 1 "$files"); do
	cat > "$WORK/migrations/$(printf '%06d' "$i")_m$i.sql" <<SQL
-- migrate:up
SET lock_timeout = '2s';
CREATE TABLE t$i (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name varchar(40), meta json, created timestamp);
ALTER TABLE t$i ADD COLUMN state text NOT NULL DEFAULT 'new';
CREATE INDEX t${i}_name ON t$i (name);
ALTER TABLE t$i ALTER COLUMN name TYPE varchar(80);
INSERT INTO t$i (name, state) SELECT 'n' || g, 'old' FROM generate_series(1, 10) g;
UPDATE t$i SET state = 'active' WHERE created > now() - interval '1 day';
DELETE FROM t$i WHERE state = 'gone';
ALTER TABLE t$i ADD CONSTRAINT t${i}_state CHECK (state <> '') NOT VALID;
ALTER TABLE t$i VALIDATE CONSTRAINT t${i}_state;
SQL
done
stmts=$((files * 10))
cd "$WORK"
t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o rss "$DBSHIFT" lint --format json > out.json || true
t1=$(date +%s.%N)
secs=$(echo "$t1 - $t0" | bc -l)
got=$(jq '.summary.statements' out.json)
[ "$got" = "$stmts" ] || { echo "linted $got statements, expected $stmts" >&2; exit 1; }
printf 'lint: %d statements in %d files: %.2f s, %.0f statements/s, peak memory %.1f MB\n' \
	"$stmts" "$files" "$secs" "$(echo "$stmts / $secs" | bc -l)" "$(echo "$(cat rss) / 1024" | bc -l)"
