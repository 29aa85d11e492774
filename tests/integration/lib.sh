# lib.sh - assertions for the integration tests.  Every check counts as one
# test: "ok - NAME" or "not ok - NAME" with what was expected and what came.

PASS=0
FAIL=0

ok() {
	PASS=$((PASS + 1))
	[ -n "${VERBOSE:-}" ] && echo "ok - $1"
	return 0
}

not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}

# dbs ARGS...: run dbshift; sets OUT, ERR and RC.
dbs() {
	OUT=$("$DBSHIFT" "$@" 2>"$WORK/.stderr")
	RC=$?
	ERR=$(cat "$WORK/.stderr")
}

check_rc() {
	if [ "$RC" = "$1" ]; then ok "$2"; else not_ok "$2" "expected exit $1, got $RC
stdout: $OUT
stderr: $ERR"; fi
}

check_eq() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	elif [ "$(printf '%s\n' "$1$2" | wc -l)" -gt 12 ]; then
		not_ok "$3" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$1") | head -n 40)"
	else
		not_ok "$3" "expected:
$2
got:
$1"
	fi
}

check_contains() {
	case "$1" in
	*"$2"*) ok "$3" ;;
	*) not_ok "$3" "expected to find: $2
in: $1" ;;
	esac
}

# flip_byte FILE OFFSET: invert the byte at OFFSET.  Writing a fixed byte
# there was no change when the file already had it (1 time in 256 for
# ciphertext), and the check after it then failed.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	if [ -z "$b" ]; then
		not_ok "flip_byte: $1 has no byte at offset $2"
		return 1
	fi
	# shellcheck disable=SC2059  # the format is the octal escape of the byte
	printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

check_lacks() {
	case "$1" in
	*"$2"*) not_ok "$3" "did not expect: $2
in: $1" ;;
	*) ok "$3" ;;
	esac
}

# sql URL QUERY: the result rows, fields separated by '|'.
sql() {
	case "$1" in
	sqlite:*) sqlite3 -batch -noheader -cmd ".timeout 10000" "${1#sqlite:}" "$2" 2>&1 ;;
	*) psql -X -q -A -t -v ON_ERROR_STOP=1 "$1" -c "$2" 2>&1 ;;
	esac
}

# snapshot URL: schema and history, to show that nothing changed.
snapshot() {
	case "$1" in
	sqlite:*)
		local f=${1#sqlite:}
		[ -f "$f" ] || { echo "(no file)"; return; }
		sqlite3 -batch "$f" .dump | grep -v 'dbshift_lock' ;;
	*)
		pg_dump --schema-only --no-owner "$1" 2>&1 | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict'
		psql -X -A -t "$1" -c "SELECT app, version, status, checksum FROM dbshift_migrations ORDER BY 1, 2" 2>/dev/null
		psql -X -A -t "$1" -c "SELECT count(*) FROM dbshift_runs" 2>/dev/null ;;
	esac
}

# table_exists URL TABLE -> prints 1 or 0
table_exists() {
	case "$1" in
	sqlite:*) sql "$1" "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '$2'" ;;
	*) sql "$1" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '$2'" ;;
	esac
}

# newdb NAME -> a URL for an empty database of the driver under test ($DRIVER).
newdb() {
	case "$DRIVER" in
	sqlite) rm -f "$WORK/$1.db"; echo "sqlite:$WORK/$1.db" ;;
	postgres) pg_newdb "$1" ;;
	esac
}

# project NAME: a fresh project directory (cd into it); fixtures copied by name.
project() {
	rm -rf "${WORK:?}/$1"
	mkdir -p "$WORK/$1"
	cd "$WORK/$1" || exit 1
	if [ -n "${2:-}" ]; then
		cp -r "$FIXTURES/$2" migrations
	else
		mkdir migrations
	fi
}

# pg_kill_sleepers URL: end the server sessions a test left in pg_sleep.
pg_kill_sleepers() {
	sql "$1" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()" >/dev/null
}

# wait_for URL QUERY WANT [SECONDS]: poll until QUERY gives WANT (default
# deadline 60 s); 0 when it did, 1 when the deadline passed.
wait_for() {
	local i=0 limit=$(( ${4:-60} * 10 ))
	while [ $i -lt $limit ]; do
		[ "$(sql "$1" "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# until_ok SECONDS COMMAND...: run COMMAND every 0.2 s until it succeeds;
# 1 when the deadline passed first.
until_ok() {
	local limit=$(( $1 * 5 )) i=0
	shift
	while [ $i -lt $limit ]; do
		"$@" && return 0
		sleep 0.2; i=$((i + 1))
	done
	return 1
}

# pg_hold URL SQL: run SQL (which takes locks) in a session that then stays
# idle in its transaction until pg_release; returns once it is idle, so its
# locks are held.  The session reads from a FIFO that the test holds open.
pg_hold() {
	rm -f "$WORK/holder.fifo"
	mkfifo "$WORK/holder.fifo"
	PGAPPNAME=dbshift_test_holder psql -X -q "$1" < "$WORK/holder.fifo" >/dev/null 2>&1 &
	HOLDER_PID=$!
	exec 9>"$WORK/holder.fifo"
	printf 'BEGIN;\n%s;\n' "$2" >&9
	wait_for "$1" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dbshift_test_holder' AND state = 'idle in transaction'" 1
}

# pg_release: end the session pg_hold started (its transaction rolls back).
pg_release() {
	exec 9>&-
	# processes started since hold the FIFO open too: end the session itself
	sql "$PG_ADMIN_URL" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'dbshift_test_holder'" >/dev/null
	kill "$HOLDER_PID" 2>/dev/null
	wait "$HOLDER_PID" 2>/dev/null
	rm -f "$WORK/holder.fifo"
}
