# t_password.sh - a password given in the URL shows nowhere: not in output,
# the log, the run report, nor the process list while dbshift runs.

t_password() {
	project password
	local url; url=$(newdb password) tag="postgres password"
	printf -- '-- migrate:up\nCREATE TABLE p (id int);\nLOCK TABLE gate;\n-- migrate:down\nDROP TABLE p;\n' > migrations/1_p.sql
	sql "$url" "CREATE TABLE gate (id int)" >/dev/null
	# the migration waits for the gate while the test reads its command line
	pg_hold "$url" "LOCK TABLE gate"
	"$DBSHIFT" --database "$url" --json migrate >"$WORK/pw.out" 2>"$WORK/pw.err" &
	local pid=$! cmdline=""
	wait_for "$url" "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'gate' AND NOT l.granted" 1
	cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)
	pg_release
	wait $pid
	check_contains "$cmdline" "--database postgres://postgres:" "$tag: the process list was read"
	check_lacks "$cmdline" "$PG_PASSWORD" "$tag: not in the process list"
	check_lacks "$(cat "$WORK/pw.out" "$WORK/pw.err")" "$PG_PASSWORD" "$tag: not in output"
	check_contains "$(cat "$WORK/pw.out")" "postgres://postgres@127.0.0.1" "$tag: the report shows the URL without its password"
	check_lacks "$(cat logs/dbshift.log)" "$PG_PASSWORD" "$tag: not in the log"
	check_lacks "$(sql "$url" "SELECT report::text FROM dbshift_runs")" "$PG_PASSWORD" "$tag: not in dbshift_runs"
	dbs --database "$url" status
	check_lacks "$OUT$ERR" "$PG_PASSWORD" "$tag: not in status"
	cd "$WORK" || return
}
