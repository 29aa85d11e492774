# t_kill.sh - kill -9 in the middle of a migration, then run again: the
# history is consistent and the run finishes.  The migration killed waits
# until it is killed (it never finishes on its own), so the kill cannot come
# too late; the test waits for it to be seen running, never for a time.

t_kill() {
	project kill
	local url; url=$(newdb kill) tag="$DRIVER kill -9"
	good_migration 1_first.sql first
	if [ "$DRIVER" = postgres ]; then
		printf -- '-- migrate:up\nCREATE TABLE slow (id int);\nSELECT pg_sleep(3600);\n-- migrate:down\nDROP TABLE slow;\n' > migrations/2_slow.sql
	else
		printf -- '-- migrate:up\nCREATE TABLE slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c;\n-- migrate:down\nDROP TABLE slow;\n' > migrations/2_slow.sql
	fi
	good_migration 3_last.sql last
	"$DBSHIFT" --database "$url" migrate >/dev/null 2>&1 &
	local pid=$!
	# wait (up to 60 s) until 1 is recorded and 2 is running
	local i=0 seen=0
	while [ $i -lt 600 ] && kill -0 $pid 2>/dev/null; do
		if [ "$DRIVER" = postgres ]; then
			[ "$(sql "$url" "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3600)%' AND state = 'active' AND pid <> pg_backend_pid()")" = 1 ] && seen=1
		else
			[ "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE version = '1'" 2>/dev/null)" = 1 ] &&
				grep -q "2_slow up: started" logs/dbshift.log 2>/dev/null && seen=1
		fi
		[ $seen = 1 ] && break
		sleep 0.1; i=$((i + 1))
	done
	check_eq "$seen" 1 "$tag: the migration was seen running"
	kill -9 $pid
	wait $pid 2>/dev/null
	if [ "$DRIVER" = postgres ]; then
		# the server notices a dead client only when it next talks to it
		sql "$url" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()" >/dev/null
	fi
	check_eq "$(sql "$url" "SELECT version FROM dbshift_migrations ORDER BY version")" "1" "$tag: killed in the middle of 2 (only 1 recorded)"
	# 2 was never recorded, so it may change: this time it finishes
	printf -- '-- migrate:up\nCREATE TABLE slow (id int);\n-- migrate:down\nDROP TABLE slow;\n' > migrations/2_slow.sql
	OUT=$(timeout 120 "$DBSHIFT" --database "$url" migrate 2>&1)
	RC=$?
	check_rc 0 "$tag: rerun finishes"
	check_eq "$(sql "$url" "SELECT version || ':' || status FROM dbshift_migrations ORDER BY version")" "1:applied
2:applied
3:applied" "$tag: history is consistent"
	check_eq "$(table_exists "$url" slow)$(table_exists "$url" last)" "11" "$tag: schema is complete"
	cd "$WORK" || return
}
