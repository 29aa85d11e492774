#!/usr/bin/env bash
# backup.sh [MB] - back up a generated PostgreSQL database of about MB
# megabytes (default 1024) with dbshift (backup, then backups verify
# --restore), next to plain pg_dump -Fc and pg_restore of the same database.
. "$(dirname "$0")/common.sh" postgres
MB=${1:-1024}
url=$(pg_newdb backupbench)
cd "$WORK"
psql() { PGOPTIONS="-c client_min_messages=warning" command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
rows=$(( MB * 1024 * 1024 / 180 ))
psql "$url" -c "CREATE TABLE big (id bigint PRIMARY KEY, h text, pad text)" \
	-c "INSERT INTO big SELECT g, md5(g::text), repeat('x', 100) FROM generate_series(1, $rows) g" \
	-c "VACUUM ANALYZE big"
size=$(psql "$url" -At -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l | xargs printf '%.1f'; }

b=$(secs "$DBSHIFT" --database "$url" backup)
id=$(ls backups)
v=$(secs "$DBSHIFT" --database "$url" backups verify "$id" --restore)
d=$(secs pg_dump -Fc -f plain.dump "$url")
psql "${url%/*}/postgres" -c "CREATE DATABASE restored"
r=$(secs pg_restore --dbname="${url%/*}/restored" plain.dump)
printf 'database %s (%d rows)\n' "$size" "$rows"
printf '%-44s %8s s\n' "dbshift backup (custom format, checksums)" "$b"
printf '%-44s %8s s\n' "dbshift backups verify --restore" "$v"
printf '%-44s %8s s\n' "pg_dump -Fc" "$d"
printf '%-44s %8s s\n' "pg_restore into a new database" "$r"
