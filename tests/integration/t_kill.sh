# t_kill.sh - kill -9 in the middle of a long migration, then run again:
# the history is consistent and the run finishes.

t_kill() {
	project kill
	local url; url=$(newdb kill) tag="$DRIVER kill -9"
	good_migration 1_first.sql first
	if [ "$DRIVER" = postgres ]; then
		printf -- '-- migrate:up\nCREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n-- migrate:down\nDROP TABLE slow;\n' > migrations/2_slow.sql
	else
		printf -- '-- migrate:up\nCREATE TABLE slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT x FROM c;\n-- migrate:down\nDROP TABLE slow;\n' > migrations/2_slow.sql
	fi
	good_migration 3_last.sql last
	"$DBSHIFT" --database "$url" migrate >/dev/null 2>&1 &
	local pid=$!
	# wait until the slow migration is running, then kill
	local i=0
	while [ $i -lt 100 ]; do
		if [ "$DRIVER" = postgres ]; then
			[ "$(sql "$url" "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()")" = 1 ] && break
		else
			[ "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE version = '1'" 2>/dev/null)" = 1 ] && sleep 0.3 && break
		fi
		sleep 0.1; i=$((i + 1))
	done
	kill -9 $pid
	wait $pid 2>/dev/null
	check_eq "$(sql "$url" "SELECT version FROM dbshift_migrations ORDER BY version")" "1" "$tag: killed in the middle of 2 (only 1 recorded)"
	OUT=$(timeout 120 "$DBSHIFT" --database "$url" migrate 2>&1)
	RC=$?
	check_rc 0 "$tag: rerun finishes"
	check_eq "$(sql "$url" "SELECT version || ':' || status FROM dbshift_migrations ORDER BY version")" "1:applied
2:applied
3:applied" "$tag: history is consistent"
	check_eq "$(table_exists "$url" slow)$(table_exists "$url" last)" "11" "$tag: schema is complete"
	cd "$WORK" || return
}
