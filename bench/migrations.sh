#!/usr/bin/env bash
# migrations.sh [N] - time dbshift against the floor on PostgreSQL and SQLite.
#
# Generates N (default 1000) trivial migrations and times migrate-all,
# rollback-all and status with N applied, then status with 10 N applied
# (recorded with baseline), next to the floor: the same SQL, one
# transaction per migration, fed through a single psql / sqlite3 session.
. "$(dirname "$0")/common.sh" postgres
N=${1:-1000}

gen() {  # DIR COUNT
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		printf -- '-- migrate:up\nCREATE TABLE t_%d (id bigint PRIMARY KEY, v text);\n-- migrate:down\nDROP TABLE t_%d;\n' "$i" "$i" \
			> "$1/$(printf '%06d' "$i")_t$i.sql"
	done
}

floor_up() {  # COUNT
	for i in $(seq 1 "$1"); do
		printf 'BEGIN;\nCREATE TABLE t_%d (id bigint PRIMARY KEY, v text);\nCOMMIT;\n' "$i"
	done
}

floor_down() {
	for i in $(seq "$1" -1 1); do printf 'BEGIN;\nDROP TABLE t_%d;\nCOMMIT;\n' "$i"; done
}

secs() {  # COMMAND...: wall time in seconds
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l | xargs printf '%.3f'
}

gen "$WORK/m" "$N"
gen "$WORK/big" $((N * 10))
cd "$WORK"
printf '%-10s %-28s %10s %10s\n' driver operation dbshift floor
for driver in postgres sqlite; do
	if [ $driver = postgres ]; then
		url=$(pg_newdb bench); furl=$(pg_newdb benchfloor); burl=$(pg_newdb benchbig)
		floor() { psql -X -q "$furl" -v ON_ERROR_STOP=1 -f "$1"; }
		floor_status() { psql -X -q "$url" -c 'SELECT * FROM dbshift_migrations'; }
		floor_status_big() { psql -X -q "$burl" -c 'SELECT * FROM dbshift_migrations'; }
	else
		url=sqlite:$WORK/bench.db; furl=$WORK/floor.db; burl=sqlite:$WORK/big.db
		rm -f bench.db floor.db big.db
		floor() { sqlite3 "$furl" < "$1"; }
		floor_status() { sqlite3 "$WORK/bench.db" 'SELECT * FROM dbshift_migrations'; }
		floor_status_big() { sqlite3 "$WORK/big.db" 'SELECT * FROM dbshift_migrations'; }
	fi
	floor_up "$N" > up.sql
	floor_down "$N" > down.sql
	up=$(secs "$DBSHIFT" --database "$url" --dir m migrate)
	fup=$(secs floor up.sql)
	st=$(secs "$DBSHIFT" --database "$url" --dir m status)
	fst=$(secs floor_status)
	down=$(secs "$DBSHIFT" --database "$url" --dir m rollback zero)
	fdown=$(secs floor down.sql)
	"$DBSHIFT" --database "$burl" --dir big baseline $(printf '%06d' $((N * 10))) >/dev/null
	stb=$(secs "$DBSHIFT" --database "$burl" --dir big status)
	fstb=$(secs floor_status_big)
	printf '%-10s %-28s %9ss %9ss\n' $driver "migrate $N" "$up" "$fup"
	printf '%-10s %-28s %9ss %9ss\n' $driver "rollback $N (zero)" "$down" "$fdown"
	printf '%-10s %-28s %9ss %9ss\n' $driver "status, $N applied" "$st" "$fst"
	printf '%-10s %-28s %9ss %9ss\n' $driver "status, $((N * 10)) applied" "$stb" "$fstb"
done
