#!/usr/bin/env bash
# lint.sh [N] [ROUNDS] - lint a generated corpus of N (default 10,000)
# migration statements of mixed DDL and DML with dbshift and with squawk
# (npm squawk-cli, installed here), ROUNDS (5) times each in turns; print
# the median wall time, statements per second and peak memory (maximum
# resident set size) side by side, each tool with its default output (and
# dbshift's --format json besides).
. "$(dirname "$0")/common.sh"
N=${1:-10000}
R=${2:-5}
TOOLS=$ROOT/build-bench/npm
[ -x "$TOOLS/node_modules/.bin/squawk" ] ||
	npm install --silent --prefix "$TOOLS" squawk-cli >/dev/null
SQUAWK=$TOOLS/node_modules/.bin/squawk
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
"$DBSHIFT" lint --format json > out.json || true
got=$(jq '.summary.statements' out.json)
[ "$got" = "$stmts" ] || { echo "linted $got statements, expected $stmts" >&2; exit 1; }

run() {  # OUT_PREFIX COMMAND...: appends "seconds kB" to OUT_PREFIX.times
	local p=$1
	shift
	/usr/bin/time -f '%e %M' -o t "$@" >/dev/null 2>&1 || true
	cat t >> "$p.times"
}
median() {  # column COL of FILE
	awk -v c="$2" '{ print $c }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# both tools with their default output for people; dbshift's JSON document
# (every statement, with its SQL) on a line of its own
rm -f dbshift.times dbshift-json.times squawk.times
for r in $(seq 1 "$R"); do
	if [ $((r % 2)) = 1 ]; then
		run dbshift "$DBSHIFT" lint
		run squawk "$SQUAWK" migrations/*.sql
		run dbshift-json "$DBSHIFT" lint --format json
	else
		run dbshift-json "$DBSHIFT" lint --format json
		run squawk "$SQUAWK" migrations/*.sql
		run dbshift "$DBSHIFT" lint
	fi
done
printf 'lint of %d statements in %d files, median of %d:\n' "$stmts" "$files" "$R"
printf '%-13s %8s %14s %10s\n' tool wall statements/s 'peak RSS'
for t in dbshift squawk dbshift-json; do
	s=$(median "$t.times" 1)
	printf '%-13s %7.2fs %14.0f %7.1f MB\n' "$t" "$s" "$(echo "$stmts / $s" | bc -l)" \
		"$(echo "$(median "$t.times" 2) / 1024" | bc -l)"
done
printf 'ratio (dbshift / squawk): %.2fx wall\n' \
	"$(echo "$(median dbshift.times 1) / $(median squawk.times 1)" | bc -l)"
