#!/usr/bin/env bash
# migrations.sh [N] [ROUNDS] - dbshift next to its floor, on PostgreSQL and
# SQLite: the median of ROUNDS (5) runs of each, dbshift and the floor taking
# turns to go first, with the ratio.
#
# The floor is the same SQL, one transaction per migration, fed through one
# psql / sqlite3 session.  On SQLite it is measured on tmpfs (/dev/shm),
# where the CPU work shows, and dbmate (npm) is timed on disk, where the
# syncs of each commit show.  Then: status with N and 10 N applied, plan of
# a 1 MB history of 6,000 statements (all applied but one, and all
# pending), the same for a denser 1 MB history of short statements, and
# how often migrate parses a pending script (-v).
. "$(dirname "$0")/common.sh" postgres
N=${1:-1000}
R=${2:-5}
TOOLS=$ROOT/build-bench/npm
[ -x "$TOOLS/node_modules/.bin/dbmate" ] ||
	npm install --silent --prefix "$TOOLS" dbmate >/dev/null

gen() {  # DIR COUNT
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		printf -- '-- migrate:up\nCREATE TABLE t_%d (id bigint PRIMARY KEY, v text);\n-- migrate:down\nDROP TABLE t_%d;\n' "$i" "$i" \
			> "$1/$(printf '%06d' "$i")_t$i.sql"
	done
}

# each DIR COUNT BODY: COUNT migrations in DIR, the i-th written by "BODY i"
each() {
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		"$3" "$i" > "$1/$(printf '%06d' "$i")_h$i.sql"
	done
}

# the history of the goal: 1,200 migrations of five statements, 1 MB and
# 6,000 statements in all (and a down each)
history_sql() {
	local i=$1
	cat <<SQL
-- migrate:up
CREATE TABLE h$i (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint NOT NULL, name varchar(80) NOT NULL, email text, phone text, meta jsonb NOT NULL DEFAULT '{}', state text NOT NULL DEFAULT 'new', created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz, deleted_at timestamptz);
CREATE INDEX h${i}_account_created ON h$i (account_id, created_at DESC) WHERE state <> 'gone' AND deleted_at IS NULL;
ALTER TABLE h$i ADD CONSTRAINT h${i}_account_fk FOREIGN KEY (account_id) REFERENCES h$i (id) ON DELETE CASCADE NOT VALID;
UPDATE h$i SET state = 'active', updated_at = now() WHERE created_at > now() - interval '1 day' AND state = 'new' AND deleted_at IS NULL;
ALTER TABLE h$i ADD COLUMN archived boolean NOT NULL DEFAULT false, ADD COLUMN owner_id bigint, ADD COLUMN note text;
-- migrate:down
DROP TABLE h$i;
SQL
}

# a denser history of short statements: ten a migration, 1 MB in all
dense_sql() {
	local i=$1
	cat <<SQL
-- migrate:up
SET lock_timeout = '2s';
CREATE TABLE h$i (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name varchar(40), meta json, created timestamp, note text);
ALTER TABLE h$i ADD COLUMN state text NOT NULL DEFAULT 'new', ADD COLUMN owner_id bigint;
CREATE INDEX h${i}_name ON h$i (name, created) WHERE state <> 'gone';
ALTER TABLE h$i ALTER COLUMN name TYPE varchar(80);
INSERT INTO h$i (name, state) SELECT 'n' || g, 'old' FROM generate_series(1, 10) g;
UPDATE h$i SET state = 'active', note = 'migrated' WHERE created > now() - interval '1 day';
DELETE FROM h$i WHERE state = 'gone' AND created < now() - interval '30 days';
ALTER TABLE h$i ADD CONSTRAINT h${i}_state CHECK (state <> '' AND length(state) < 20) NOT VALID;
ALTER TABLE h$i VALIDATE CONSTRAINT h${i}_state;
-- migrate:down
DROP TABLE h$i;
SQL
}

floor_up() {  # COUNT
	for i in $(seq 1 "$1"); do
		printf 'BEGIN;\nCREATE TABLE t_%d (id bigint PRIMARY KEY, v text);\nCOMMIT;\n' "$i"
	done
}

floor_down() {
	for i in $(seq "$1" -1 1); do printf 'BEGIN;\nDROP TABLE t_%d;\nCOMMIT;\n' "$i"; done
}

gen "$WORK/m" "$N"
gen "$WORK/big" $((N * 10))
each "$WORK/hist" 1200 history_sql
each "$WORK/dense" 1220 dense_sql
floor_up "$N" > "$WORK/up.sql"
floor_down "$N" > "$WORK/down.sql"
cd "$WORK"
printf '%-9s %-40s %10s %10s %8s\n' driver work dbshift reference ratio

# PostgreSQL: a fresh database a round for each side
up=; fup=; down=; fdown=; st=; fst=
for r in $(seq 1 "$R"); do
	url=$(pg_newdb "bench$r")
	furl=$(pg_newdb "floor$r")
	a() { secs "$DBSHIFT" --database "$url" --dir m migrate; }
	b() { secs psql -X -q "$furl" -v ON_ERROR_STOP=1 -f up.sql; }
	turns "$r" up fup
	st+="$(secs "$DBSHIFT" --database "$url" --dir m status)"$'\n'
	fst+="$(secs psql -X -q "$url" -c 'SELECT * FROM dbshift_migrations')"$'\n'
	a() { secs "$DBSHIFT" --database "$url" --dir m rollback zero; }
	b() { secs psql -X -q "$furl" -v ON_ERROR_STOP=1 -f down.sql; }
	turns "$r" down fdown
done
row postgres "migrate $N" "$up" "$fup" "psql"
row postgres "rollback $N (zero)" "$down" "$fdown" "psql"
row postgres "status, $N applied" "$st" "$fst" "psql SELECT"
burl=$(pg_newdb benchbig)
"$DBSHIFT" --database "$burl" --dir big baseline "$(printf '%06d' $((N * 10)))" >/dev/null
stb=; fstb=
for r in $(seq 1 "$R"); do
	stb+="$(secs "$DBSHIFT" --database "$burl" --dir big status)"$'\n'
	fstb+="$(secs psql -X -q "$burl" -c 'SELECT * FROM dbshift_migrations')"$'\n'
done
row postgres "status, $((N * 10)) applied" "$stb" "$fstb" "psql SELECT"

# SQLite on tmpfs against sqlite3, on disk against dbmate
SHM=$(mktemp -d /dev/shm/dbshift-bench.XXXXXX)
trap 'pg_stop; rm -rf "$WORK" "$SHM"' EXIT
up=; fup=; down=; fdown=; st=; fst=; dup=; dm=
for r in $(seq 1 "$R"); do
	rm -f "$SHM"/*.db "$WORK"/disk*.db
	a() { secs "$DBSHIFT" --database "sqlite:$SHM/bench.db" --dir m migrate; }
	b() { secs sh -c "sqlite3 '$SHM/floor.db' < up.sql"; }
	turns "$r" up fup
	st+="$(secs "$DBSHIFT" --database "sqlite:$SHM/bench.db" --dir m status)"$'\n'
	fst+="$(secs sqlite3 "$SHM/bench.db" 'SELECT * FROM dbshift_migrations')"$'\n'
	a() { secs "$DBSHIFT" --database "sqlite:$SHM/bench.db" --dir m rollback zero; }
	b() { secs sh -c "sqlite3 '$SHM/floor.db' < down.sql"; }
	turns "$r" down fdown
	a() { secs "$DBSHIFT" --database "sqlite:$WORK/disk1.db" --dir m migrate; }
	b() { secs "$TOOLS/node_modules/.bin/dbmate" --url "sqlite:$WORK/disk2.db" \
		--migrations-dir m --no-dump-schema up; }
	turns "$r" dup dm
done
row sqlite "migrate $N (tmpfs)" "$up" "$fup" "sqlite3"
row sqlite "rollback $N (zero, tmpfs)" "$down" "$fdown" "sqlite3"
row sqlite "migrate $N (disk)" "$dup" "$dm" "dbmate"
row sqlite "status, $N applied" "$st" "$fst" "sqlite3 SELECT"
rm -f big.db
"$DBSHIFT" --database "sqlite:$WORK/big.db" --dir big baseline "$(printf '%06d' $((N * 10)))" >/dev/null
stb=; fstb=
for r in $(seq 1 "$R"); do
	stb+="$(secs "$DBSHIFT" --database "sqlite:$WORK/big.db" --dir big status)"$'\n'
	fstb+="$(secs sqlite3 "$WORK/big.db" 'SELECT * FROM dbshift_migrations')"$'\n'
done
row sqlite "status, $((N * 10)) applied" "$stb" "$fstb" "sqlite3 SELECT"

# plan of a 1 MB history: 0.1 s is the goal
plans() {  # DIR COUNT WHAT
	local url p1= p2= one=
	url=$(pg_newdb "plan$1")
	"$DBSHIFT" --database "$url" --dir "$1" baseline "$(printf '%06d' $(($2 - 1)))" >/dev/null
	for r in $(seq 1 "$R"); do
		p1+="$(secs "$DBSHIFT" --database "$url" --dir "$1" plan)"$'\n'
		p2+="$(secs "$DBSHIFT" --database "$(pg_newdb "plan${1}all")" --dir "$1" plan)"$'\n'
		one+="0.1"$'\n'
	done
	printf '%-9s %s\n' postgres "$3: $(cat "$1"/*.sql | wc -c) bytes, $(sed -s '/^-- migrate:down/,$d' "$1"/*.sql | grep -vc -e '^--' -e '^$') statements up"
	row postgres "plan, $(($2 - 1)) applied, 1 pending" "$p1" "$one" "goal (s)"
	row postgres "plan, all $2 pending" "$p2" "$one" "goal (s)"
}
plans hist 1200 "history"
plans dense 1220 "dense history"

# how often a pending script is parsed in one migrate (the goal is 1)
purl=$(pg_newdb benchparse)
printf '%-9s %-40s %s\n' postgres "parses per pending script" \
	"$("$DBSHIFT" --database "$purl" --dir m -v migrate | tail -n 1)"
rm -f parse.db
printf '%-9s %-40s %s\n' sqlite "parses per pending script" \
	"$("$DBSHIFT" --database "sqlite:$WORK/parse.db" --dir m -v migrate | tail -n 1)"
