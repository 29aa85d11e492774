# t_password.sh - a password given in the URL shows nowhere: not in output,
# the log, the run report, nor the process list while dbshift runs.

t_password() {
	project password
	local url; url=$(newdb password) tag="postgres password"
	printf -- '-- migrate:up\nCREATE TABLE p (id int);\nSELECT pg_sleep(1);\n-- migrate:down\nDROP TABLE p;\n' > migrations/1_p.sql
	"$DBSHIFT" --database "$url" --json migrate >"$WORK/pw.out" 2>"$WORK/pw.err" &
	local pid=$! cmdline=""
	sleep 0.5
	cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)
	wait $pid
	check_contains "$cmdline" "--database postgres://postgres:" "$tag: the process list was read"
	check_lacks "$cmdline" "$PG_PASSWORD" "$tag: not in the process list"
	check_lacks "$(cat "$WORK/pw.out" "$WORK/pw.err")" "$PG_PASSWORD" "$tag: not in output"
	check_contains "$(cat "$WORK/pw.out")" "postgres://postgres:****@" "$tag: the report shows the URL redacted"
	check_lacks "$(cat logs/dbshift.log)" "$PG_PASSWORD" "$tag: not in the log"
	check_lacks "$(sql "$url" "SELECT report::text FROM dbshift_runs")" "$PG_PASSWORD" "$tag: not in dbshift_runs"
	dbs --database "$url" status
	check_lacks "$OUT$ERR" "$PG_PASSWORD" "$tag: not in status"
	cd "$WORK" || return
}
