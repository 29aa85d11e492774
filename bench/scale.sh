#!/usr/bin/env bash
# scale.sh [ROUNDS] - cost that should follow the migrations, not the
# database: the median of ROUNDS (5) runs of each, dbshift and its
# reference taking turns to go first, with the ratio.
#
# 1. SQLite: one new migration (a CREATE TABLE and an index) on a database
#    that already holds 5,000 tables, against sqlite3 running the same SQL
#    on a copy of the same file; and whether a plan of five whose fifth
#    script is broken is still refused before the first runs.
# 2. SQLite: 1,000 trivial migrations on tmpfs against the sqlite3 floor.
# 3. PostgreSQL: 1,000 one-column tables (CREATE TABLE t_N (id int PRIMARY
#    KEY)), migrate and rollback zero, against one psql session running
#    the same SQL, one transaction per migration; and psql doing what
#    dbshift does besides, a history row written in each transaction.
# 4. One migration of 40,000 INSERTs (2.8 MB) on both drivers, against
#    sqlite3 and psql running the file in one transaction.
# 5. PostgreSQL: every read command on databases of N applied migrations
#    and N/2 tables (N = 1,000, 5,000, 10,000), one migration pending.
. "$(dirname "$0")/common.sh" postgres
R=${1:-5}
cd "$WORK"
SHM=$(mktemp -d /dev/shm/dbshift-bench.XXXXXX)
trap 'pg_stop; rm -rf "$WORK" "$SHM"' EXIT
printf '%-9s %-48s %10s %10s %8s\n' driver work dbshift reference ratio

# dbmate-style migration file DIR/NAME with UP and DOWN
mig() { printf -- '-- migrate:up\n%s\n-- migrate:down\n%s\n' "$3" "$4" > "$1/$2.sql"; }

# ---- 1. SQLite: one migration on a database of 5,000 tables ----
mkdir big1
for i in $(seq 1 5000); do
	echo "CREATE TABLE big_$i (id integer PRIMARY KEY, name text NOT NULL, v int);"
done > big.sql
# the database has been migrated by dbshift before: its own tables are there
mig big1 000001_start "SELECT 1;" "SELECT 1;"
sqlite3 big.db < big.sql
"$DBSHIFT" --database sqlite:big.db --dir big1 migrate >/dev/null
ONE="CREATE TABLE one (id integer PRIMARY KEY, big_id int REFERENCES big_7 (id), note text);
CREATE INDEX one_big ON one (big_id);"
mig big1 000002_one "$ONE" "DROP TABLE one;"
t=; f=
for r in $(seq 1 "$R"); do
	cp big.db a.db
	cp big.db b.db
	a() { secs "$DBSHIFT" --database sqlite:a.db --dir big1 migrate; }
	b() { secs sqlite3 b.db "$ONE"; }
	turns "$r" t f
done
[ "$(sqlite3 a.db "SELECT count(*) FROM dbshift_migrations")" = 2 ] ||
	{ echo "dbshift did not apply the migration" >&2; exit 1; }
row sqlite "one migration, 5,000 tables" "$t" "$f" "sqlite3"
# five migrations, the fifth broken: refused before the first runs
mkdir big5
cp big1/000001_start.sql big5/
for i in 2 3 4 5; do
	mig big5 "00000${i}_n$i" "CREATE TABLE n$i (id integer PRIMARY KEY, big_id int);
CREATE INDEX n${i}_big ON n$i (big_id);
INSERT INTO n$i (big_id) SELECT id FROM big_$i;" "DROP TABLE n$i;"
done
mig big5 000006_broken "CREATE INDEX big_9_nosuch ON big_9 (nosuch);" "SELECT 1;"
cp big.db c.db
rc=0
"$DBSHIFT" --database sqlite:c.db --dir big5 migrate >/dev/null 2>err.txt || rc=$?
printf '%-9s %-48s %s\n' sqlite "a broken fifth script, 5,000 tables" \
	"exit $rc, $(sqlite3 c.db "SELECT count(*) FROM sqlite_master WHERE name LIKE 'n_'") of its tables made: $(head -n 1 err.txt)"

# ---- 2. SQLite: 1,000 migrations on tmpfs ----
mkdir m
for i in $(seq 1 1000); do
	mig m "$(printf '%06d' "$i")_t$i" "CREATE TABLE t_$i (id bigint PRIMARY KEY, v text);" "DROP TABLE t_$i;"
	printf 'BEGIN;\nCREATE TABLE t_%d (id bigint PRIMARY KEY, v text);\nCOMMIT;\n' "$i" >> up.sql
done
t=; f=
for r in $(seq 1 "$R"); do
	rm -f "$SHM"/*.db
	a() { secs "$DBSHIFT" --database "sqlite:$SHM/bench.db" --dir m migrate; }
	b() { secs sh -c "sqlite3 '$SHM/floor.db' < up.sql"; }
	turns "$r" t f
done
row sqlite "migrate 1,000 (tmpfs)" "$t" "$f" "sqlite3"

# ---- 3. PostgreSQL: 1,000 one-column tables ----
mkdir p
: > pup.sql
for i in $(seq 1 1000); do
	mig p "$(printf '%06d' "$i")_t$i" "CREATE TABLE t_$i (id int PRIMARY KEY);" "DROP TABLE t_$i;"
	printf 'BEGIN;\nCREATE TABLE t_%d (id int PRIMARY KEY);\nCOMMIT;\n' "$i" >> pup.sql
done
for i in $(seq 1000 -1 1); do printf 'BEGIN;\nDROP TABLE t_%d;\nCOMMIT;\n' "$i"; done > pdown.sql
# The same work as dbshift's: each transaction also writes its history
# row (an INSERT up, a DELETE down) into a table like dbshift_migrations.
hist="CREATE TABLE h (app text NOT NULL, version text NOT NULL, name text NOT NULL, checksum text NOT NULL, status text NOT NULL, applied_at timestamptz NOT NULL, duration_ms bigint NOT NULL, applied_by text NOT NULL, tool_version text NOT NULL, message text, PRIMARY KEY (app, version));"
for i in $(seq 1 1000); do
	printf "BEGIN;\nCREATE TABLE t_%d (id int PRIMARY KEY);\nINSERT INTO h VALUES ('', '%06d', 't%d', '%064d', 'applied', now(), 1, 'bench@host', '0', NULL);\nCOMMIT;\n" "$i" "$i" "$i" "$i"
done > hup.sql
for i in $(seq 1000 -1 1); do
	printf "BEGIN;\nDROP TABLE t_%d;\nDELETE FROM h WHERE app = '' AND version = '%06d';\nCOMMIT;\n" "$i" "$i"
done > hdown.sql
up=; fup=; down=; fdown=; hup=; hdown=
for r in $(seq 1 "$R"); do
	url=$(pg_newdb "one$r")
	furl=$(pg_newdb "onefloor$r")
	hurl=$(pg_newdb "onehist$r")
	psql -X -q "$hurl" -c "$hist"
	a() { secs "$DBSHIFT" --database "$url" --dir p migrate; }
	b() { secs psql -X -q "$furl" -v ON_ERROR_STOP=1 -f pup.sql; }
	turns "$r" up fup
	hup+="$(secs psql -X -q "$hurl" -v ON_ERROR_STOP=1 -f hup.sql)"$'\n'
	a() { secs "$DBSHIFT" --database "$url" --dir p rollback zero; }
	b() { secs psql -X -q "$furl" -v ON_ERROR_STOP=1 -f pdown.sql; }
	turns "$r" down fdown
	hdown+="$(secs psql -X -q "$hurl" -v ON_ERROR_STOP=1 -f hdown.sql)"$'\n'
done
row postgres "migrate 1,000 one-column tables" "$up" "$fup" "psql"
row postgres "rollback zero of them" "$down" "$fdown" "psql"
row postgres "psql writing history rows too: migrate" "$hup" "$fup" "psql"
row postgres "psql writing history rows too: rollback" "$hdown" "$fdown" "psql"

# ---- 4. one big migration: 40,000 INSERTs (2.8 MB), a seed ----
# (it took 54 s on either driver until each statement stopped being
# located, and the rest of the script measured, from the script's start)
mkdir seed
{
	printf 'CREATE TABLE seed (id integer PRIMARY KEY, v text);\n'
	for i in $(seq 1 40000); do echo "INSERT INTO seed VALUES ($i, 'value number $i of the seed data');"; done
} > seed.sql
mig seed 000001_seed "$(cat seed.sql)" "DROP TABLE seed;"
{ echo 'BEGIN;'; cat seed.sql; echo 'COMMIT;'; } > seedtx.sql
t=; f=; pt=; pf=
for r in $(seq 1 "$R"); do
	rm -f "$SHM"/*.db
	a() { secs "$DBSHIFT" --database "sqlite:$SHM/seed.db" --dir seed migrate; }
	b() { secs sh -c "sqlite3 '$SHM/seedfloor.db' < seedtx.sql"; }
	turns "$r" t f
	url=$(pg_newdb "seed$r")
	furl=$(pg_newdb "seedfloor$r")
	a() { secs "$DBSHIFT" --database "$url" --dir seed migrate; }
	b() { secs psql -X -q "$furl" -v ON_ERROR_STOP=1 -f seedtx.sql; }
	turns "$r" pt pf
done
[ "$(sqlite3 "$SHM/seed.db" "SELECT count(*) FROM seed")" = 40000 ] ||
	{ echo "dbshift did not apply the seed" >&2; exit 1; }
row sqlite "a migration of 40,000 INSERTs (tmpfs)" "$t" "$f" "sqlite3"
row postgres "a migration of 40,000 INSERTs" "$pt" "$pf" "psql"

# ---- 5. PostgreSQL: read commands as the history grows ----
READS=("status" "plan" "lint" "verify" "doctor" "assess" "schema dump" "backups list")
declare -A T
for n in 1000 5000 10000; do
	mkdir -p "$WORK/r$n/migrations"
	cd "$WORK/r$n"  # its backups go to its own backups/
	half=$((n / 2))
	for i in $(seq 1 "$half"); do
		mig migrations "$(printf '%06d' "$i")_s$i" "CREATE TABLE s_$i (id int PRIMARY KEY, v text);" "DROP TABLE s_$i;"
		mig migrations "$(printf '%06d' $((half + i)))_s${i}_v" "CREATE INDEX s_${i}_v ON s_$i (v);" "DROP INDEX s_${i}_v;"
	done
	url=$(pg_newdb "reads$n")
	"$DBSHIFT" --database "$url" migrate >/dev/null
	mig migrations "$(printf '%06d' $((n + 1)))_note" "ALTER TABLE s_1 ADD COLUMN note text;" "ALTER TABLE s_1 DROP COLUMN note;"
	"$DBSHIFT" --database "$url" backup >/dev/null
	for c in "${READS[@]}"; do
		ts=
		for r in $(seq 1 "$R"); do
			# shellcheck disable=SC2086 # the command's words
			ts+="$(secs "$DBSHIFT" --database "$url" $c)"$'\n'
		done
		T[$c,$n]=$(printf '%.3f s' "$(echo "$ts" | median)")
		# shellcheck disable=SC2086
		"$DBSHIFT" --database "$url" $c >/dev/null 2>&1 || T[$c,$n]+=" ($?)"
	done
	ts=
	for r in $(seq 1 "$R"); do
		ts+="$(secs pg_dump --schema-only --no-owner --no-privileges "--exclude-table=dbshift_*" "$url")"$'\n'
	done
	T[pg_dump,$n]=$(printf '%.3f s' "$(echo "$ts" | median)")
	cd "$WORK"
done
printf '\n%-9s %-18s %12s %12s %12s   goal at 10,000: 0.5 s\n' postgres "read command" \
	"1,000" "5,000" "10,000"
printf '%-9s %-18s %12s %12s %12s\n' "" "(migrations; tables)" "(; 500)" "(; 2,500)" "(; 5,000)"
for c in "${READS[@]}" pg_dump; do
	printf '%-9s %-18s %12s %12s %12s\n' postgres "$c" "${T[$c,1000]}" "${T[$c,5000]}" \
		"${T[$c,10000]}"
done
echo "(N): its exit code (verify: 1, as one migration is pending); pg_dump --schema-only is what schema dump runs"
