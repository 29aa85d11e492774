# t_audit.sh - what an audit of the commands and the fault trials found,
# each a regression test: options checked per command, the same
# confirmation for everything that replaces a database, ...

# audit_project NAME [up-only]: a project NAME (cd into it) with one
# migration creating table a, and url (the caller's) an empty database.
audit_project() {
	project "$1"
	url=$(newdb "$1")
	if [ "${2:-}" = up-only ]; then
		printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n' > migrations/1_a.sql
	else
		printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n' > migrations/1_a.sql
	fi
}

# silent_start: silent.py in the background (silent, its pid), its port in port.
silent_start() {
	rm -f silent.port
	/usr/bin/python3 "$HERE/silent.py" "$PWD/silent.port" &
	silent=$!
	until_ok 30 test -s "$PWD/silent.port"
	port=$(cat silent.port)
}

t_audit_options() {
	local tag="$DRIVER options per command" url
	project audit_options
	url=$(newdb audit_options)
	dbs --database "$url" backup --dry-run
	check_rc 2 "$tag: backup --dry-run: exit 2"
	check_contains "$ERR" "dbshift: error: unknown option '--dry-run' for backup" "$tag: backup has no --dry-run"
	dbs --database "$url" backup --keep 1
	check_rc 2 "$tag: backup --keep: exit 2"
	check_eq "$(ls -A)" "migrations" "$tag: no backup was taken"
	dbs --database "$url" backups list --keep 1
	check_rc 2 "$tag: backups list --keep: exit 2"
	check_contains "$ERR" "dbshift: error: --keep is an option of backups prune, not of backups list" \
		"$tag: backups list --keep names the subcommand it belongs to"
	dbs --database "$url" backups prune --keep 1 --restore
	check_rc 2 "$tag: backups prune --restore: exit 2"
	dbs --database "$url" restore 20240101T000000Z --keep 1
	check_rc 2 "$tag: restore --keep: exit 2"
	check_contains "$ERR" "dbshift: error: unknown option '--keep' for restore" "$tag: restore has no --keep"
	cd "$WORK" || return
}

t_audit_from_backup() {
	local tag="$DRIVER rollback --from-backup asks" url
	audit_project audit_from_backup
	dbs --database "$url" --json backup
	check_rc 0 "$tag: a backup"
	local id; id=$(echo "$OUT" | jq -r .id)
	dbs --database "$url" migrate
	local before; before=$(snapshot "$url")
	dbs --database "$url" rollback --from-backup "$id" < /dev/null
	check_rc 2 "$tag: without --yes and no terminal: exit 2"
	check_contains "$ERR" "dbshift: error: rollback --from-backup replaces the database's contents: pass --yes to confirm when not at a terminal" \
		"$tag: as restore says"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	dbs --database "$url" rollback --yes
	check_rc 2 "$tag: --yes without --from-backup: exit 2"
	dbs --database "$url" rollback --from-backup "$id" --yes
	check_rc 0 "$tag: with --yes it restores"
	check_eq "$(table_exists "$url" a)" "0" "$tag: the database is the backup's"
	cd "$WORK" || return
}

t_audit_release_schema_file() {
	local tag="$DRIVER release schema_file" url
	audit_project audit_schema_file
	printf '[dbshift]\nschema_file = nosuch.sql\n[release]\nsteps = migrate verify\n' > dbshift.conf
	local before; before=$(snapshot "$url")
	dbs --database "$url" release
	check_rc 2 "$tag: a verify step whose schema_file is not there: exit 2"
	check_eq "$ERR" "dbshift: error: step verify: cannot read schema_file 'nosuch.sql': No such file or directory
HINT: write it with 'dbshift schema dump FILE' on a database in the right state, or fix schema_file in dbshift.conf" \
		"$tag: said before step 1"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing was migrated"
	cd "$WORK" || return
}

t_audit_hooks() {
	local tag="$DRIVER hook environment and output" url
	audit_project audit_hooks
	cat > dbshift.conf <<'EOF'
[dbshift]
before_migrate = secrets
after_migrate = asked loud

[hook "secrets"]
run = sh -c "env | grep -c -e ^DATABASE_URL= -e ^PGPASSWORD= || true"

[hook "asked"]
run = sh -c "echo $PGPASSWORD"
env = PGPASSWORD

[hook "loud"]
run = sh -c "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 4000000; echo; echo last"
EOF
	PGPASSWORD=hook-secret-pw DATABASE_URL="$url" dbs migrate
	check_rc 0 "$tag: migrate with the hooks"
	local id; id=$(ls reports | sed 's/\.json$//' | head -n 1)
	check_eq "$(jq -r '.steps[0].output | join(" ")' "reports/$id.json")" "0" \
		"$tag: DATABASE_URL and PGPASSWORD do not reach a hook that does not ask"
	check_eq "$(jq -r '.steps[2].output | join(" ")' "reports/$id.json")" "hook-secret-pw" \
		"$tag: a hook whose env names PGPASSWORD gets it"
	check_eq "$(jq -r '.steps[3].output[-1]' "reports/$id.json")" "last" "$tag: the report keeps the loud hook's last line"
	check_eq "$(grep -c 'hook loud: ' logs/dbshift.log)" "1001" \
		"$tag: the log keeps the loud hook's last 1000 lines, and a note"
	check_contains "$(cat logs/dbshift.log)" "lines before these not logged)" "$tag: saying the rest was not kept"
	if [ "$(stat -c %s logs/dbshift.log)" -lt 200000 ]; then ok "$tag: the log stays small"
	else not_ok "$tag: the log stays small" "$(stat -c %s logs/dbshift.log) bytes"; fi
	cd "$WORK" || return
}

# a manage.py that prints what Django would not: long names, bytes, floods
t_audit_django_output() {
	local tag="$DRIVER django output" url
	project audit_django
	url=$(newdb audit_django)
	cat > fake.py <<'EOF'
import json, os, sys
mode = os.environ.get("FAKE", "long")
if sys.argv[1] == "shell":  # dbshift's helper: one JSON document
    with open("helper.log", "a") as f:  # what it was asked for
        asked = sys.argv[3].split("\n", 1)[0]
        f.write({"DBSHIFT_WANT_SQL = False": "no-sql", 'DBSHIFT_WANT_SQL = "up"': "up",
                 'DBSHIFT_WANT_SQL = "down"': "down"}.get(asked, "both") + "\n")
    if mode == "bytes":
        sys.stdout.buffer.write(bytes(range(1, 256)) * 80)
    elif mode == "flood":
        words = "[ ]  shop.0001_initial" + " " * 60  # (and never a newline)
        for _ in range(1000000):
            sys.stdout.write(words)
    else:
        a, b = "0001_" + "x" * 600, "0002_" + "y" * 600
        sql = not sys.argv[3].startswith("DBSHIFT_WANT_SQL = False")
        ms = [{"app": "shop", "name": n, "dependencies": d,
               "up": "CREATE TABLE t_%s (id int);" % n[:4] if sql else None,
               "down": None} for n, d in ((a, []), (b, [["shop", a]]))]
        print(json.dumps({"vendor": "x", "migrations": ms, "identity": os.environ["FAKE_ID"],
                          "ways": ["up", "down"] if sql else []}))
EOF
	# the database Django's settings would name: dbshift's
	case $url in
	sqlite:*) FAKE_ID="sqlite:$(realpath -m "${url#sqlite:}")" ;;
	*) FAKE_ID=$(sql "$url" "SELECT 'postgres:' || system_identifier || '/' || current_database() FROM pg_control_system()") ;;
	esac
	export FAKE_ID
	printf '[dbshift]\nframework = django\nmanage = /usr/bin/python3 fake.py\n' > dbshift.conf
	dbs --database "$url" plan
	check_rc 0 "$tag: plan of 600-character migration names exits 0 (no crash)"
	check_contains "$OUT" "up   shop/0002_yyyy" "$tag: and shows them"
	check_eq "$(cat helper.log)" "up" "$tag: plan starts Python once, asking for the SQL it runs (up)"
	rm helper.log
	dbs --database "$url" status
	check_rc 0 "$tag: status exits 0"
	check_eq "$(cat helper.log)" "no-sql" "$tag: status starts Python once, asking for no SQL"
	rm helper.log
	dbs --database "$url" verify
	check_eq "$(cat helper.log)" "no-sql" "$tag: verify too (drift is judged by the files' SHA-256)"
	rm helper.log
	dbs --database "$url" doctor
	check_eq "$(cat helper.log)" "up" "$tag: doctor asks for the SQL migrate would run"
	rm helper.log
	FAKE=bytes dbs --database "$url" status
	check_rc 1 "$tag: bytes instead of the helper's JSON: exit 1, not 'no migrations'"
	check_contains "$ERR" "dbshift: error: manage.py shell did not print the migrations as JSON (" \
		"$tag: saying what is wrong"
	FAKE=flood dbs --database "$url" status
	check_rc 1 "$tag: 80 MB from manage.py shell, no newline in it: exit 1"
	check_contains "$ERR" "dbshift: error: /usr/bin/python3 wrote more than 64 MB and was stopped" "$tag: it is stopped"
	unset FAKE_ID
	cd "$WORK" || return
}

# every network wait and file read has a bound
t_audit_bounds() {
	local tag="$DRIVER bounds" url
	audit_project audit_bounds
	local silent port
	silent_start

	printf '[dbshift]\nnotify_timeout = 0\n' > dbshift.conf
	dbs --database "$url" status
	check_rc 2 "$tag: notify_timeout = 0 is refused"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: dbshift.conf:2:1: bad notify_timeout '0'" "$tag: at its line"
	printf '[dbshift]\nnotify_url = http://127.0.0.1:%s/hook\nnotify_timeout = 300ms\n' "$port" > dbshift.conf
	timeout 120 "$DBSHIFT" --database "$url" migrate > /dev/null 2> "$WORK/bounds.err"
	check_eq "$?" "0" "$tag: a receiver that accepts and never answers: the run ends, and succeeds"
	check_contains "$(cat "$WORK/bounds.err")" "notification of migrate started to http://127.0.0.1:$port failed after 3 attempts" \
		"$tag: with the alert's failure as a warning"
	rm dbshift.conf

	printf '[dbshift]\ncheck_tcp = 127.0.0.1:112637\n' > dbshift.conf
	dbs --database "$url" status
	check_rc 2 "$tag: a check_tcp port above 65535 is a config error"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: dbshift.conf:2:1: bad check_tcp '127.0.0.1:112637'" "$tag: at its line"
	printf '[dbshift]\ncheck_http = http://127.0.0.1:99999/health\n' > dbshift.conf
	dbs --database "$url" status
	check_rc 2 "$tag: a check_http port above 65535 is a config error"
	rm dbshift.conf
	dbs --database "$url" serve --listen 127.0.0.1:99999
	check_rc 2 "$tag: serve --listen with a port above 65535: exit 2"
	check_contains "$ERR" "bad listen address '127.0.0.1:99999'" "$tag: naming it"

	mkfifo token.fifo
	printf '[dbshift]\nserve_token_file = token.fifo\n' > dbshift.conf
	timeout 60 "$DBSHIFT" --database "$url" serve --listen 0.0.0.0:0 > /dev/null 2> "$WORK/bounds.err"
	check_eq "$?" "2" "$tag: a serve_token_file that is a FIFO: exit 2, not a hang"
	check_contains "$(cat "$WORK/bounds.err")" "cannot read serve_token_file 'token.fifo': not a regular file" "$tag: saying why"
	rm dbshift.conf token.fifo

	if [ "$DRIVER" = postgres ]; then
		timeout 120 "$DBSHIFT" --database "postgres://u:pw@127.0.0.1:$port/db" wait --timeout 2s > /dev/null 2> "$WORK/bounds.err"
		check_eq "$?" "1" "$tag: wait against a server that never answers: exit 1 at its timeout"
		check_contains "$(cat "$WORK/bounds.err")" "the database did not accept a connection in 2000 ms" "$tag: saying so"
	else
		dbs --database "sqlite:$WORK/no/such/dir/x.db" wait --timeout 2s
		check_rc 2 "$tag: wait on a SQLite file in a directory that is not there: exit 2"
		check_contains "$ERR" "its directory '$WORK/no/such/dir' does not exist" "$tag: saying so"
	fi
	kill "$silent" 2>/dev/null
	wait "$silent" 2>/dev/null
	cd "$WORK" || return
}

# dbshift.conf: nothing silently overrides, truncates or drops
t_audit_config() {
	local tag="$DRIVER config" url conf
	audit_project audit_config up-only
	for conf in '[dbshift]\nmax_risk = red\nmax_risk = green\n|dbshift: error: dbshift.conf:3:1: '"'max_risk'"' is set twice in [dbshift] (first at line 2)' \
		'[env "p"]\nmax_risk = red\n[dbshift]\n[env "p"]\n|dbshift: error: dbshift.conf:4:1: section [env "p"] appears twice (first at line 1)' \
		'[dbshift]\nlog_file = dbshift.conf/run.log\n|dbshift: error: dbshift.conf:2:1: log_file '"'dbshift.conf/run.log'"': its directory cannot be written' \
		'[dbshift]\nmax_risk = red\0green\n|dbshift: error: dbshift.conf:2:1: NUL byte in the line'; do
		printf "${conf%%|*}" > dbshift.conf
		dbs --database "$url" migrate
		check_rc 2 "$tag: $(printf "${conf%%|*}" | tr '\n\0' '  '): exit 2"
		check_eq "$(echo "$ERR" | head -n 1)" "${conf#*|}" "$tag: at its line"
		check_eq "$(table_exists "$url" a)" "0" "$tag: and nothing ran"
	done
	rm dbshift.conf
	cd "$WORK" || return
}

# a data migration walks a table whose name is a keyword
t_audit_data_keyword() {
	local tag="$DRIVER data on table order" url
	project audit_data
	url=$(newdb audit_data)
	printf -- '-- migrate:up\nCREATE TABLE "order" (id bigint PRIMARY KEY, state text);\nINSERT INTO "order" (id) VALUES (1), (2), (3);\n' > migrations/1_order.sql
	dbs --database "$url" migrate
	printf -- '-- dbshift:table order\n-- dbshift:key id\n-- dbshift:pending state IS NULL\nUPDATE "order" SET state = %s WHERE id > :lo AND id <= :hi AND state IS NULL;\n' "'done'" > fill.sql
	dbs --database "$url" data run fill.sql
	check_rc 0 "$tag: data run exits 0"
	check_eq "$(sql "$url" "SELECT count(*) FROM \"order\" WHERE state = 'done'")" "3" "$tag: every row changed"
	sql "$url" "UPDATE \"order\" SET state = NULL; DELETE FROM dbshift_data" >/dev/null
	dbs --database "$url" data run fill.sql --max-rows 2 --batch-size 1
	check_rc 0 "$tag: --max-rows 2 exits 0"
	check_eq "$(echo "$ERR" | grep -m1 '^data run: ' | sed 's/ rows (.*//')" "data run: 1/2" \
		"$tag: the progress counts to --max-rows, not to every row left"
	cd "$WORK" || return
}

# a password with an unencoded '@': refused, its tail shown nowhere
t_audit_url_at() {
	local tag="$DRIVER url with '@' in its password"
	project audit_url_at
	dbs --database 'postgres://bob:se@cret-tail@127.0.0.1:5/db' status
	check_rc 2 "$tag: exit 2"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: invalid database URL: its user info holds an unencoded '@'" \
		"$tag: saying what to fix"
	check_lacks "$OUT$ERR" "cret-tail" "$tag: no part of the password is printed"
	cd "$WORK" || return
}

# adopt of a schema_migrations of another shape
t_audit_adopt_shape() {
	local tag="$DRIVER adopt of another table" url
	audit_project audit_adopt up-only
	sql "$url" "CREATE TABLE schema_migrations (id int PRIMARY KEY, name text); INSERT INTO schema_migrations VALUES (1, 'x')" >/dev/null
	local before; before=$(snapshot "$url")
	dbs --database "$url" adopt --yes
	check_rc 2 "$tag: exit 2, not a raw SQL error"
	check_contains "$(echo "$ERR" | head -n 1)" "dbshift: error: table schema_migrations is not dbmate's history (the columns it keeps are not there): " \
		"$tag: naming the table and what is wrong"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	cd "$WORK" || return
}

# many migrators on one SQLite file: the check before the lock never blames
# the SQL for a table another migrator created meanwhile
t_audit_concurrent_sqlite() {
	local tag="sqlite 20 concurrent migrates" i k
	project audit_concurrent
	for i in $(seq 1 60); do
		printf -- "-- migrate:up\nCREATE TABLE c$i (id int PRIMARY KEY, v text);\nCREATE INDEX c${i}_v ON c$i (v);\n-- migrate:down\nDROP TABLE c$i;\n" \
			> "migrations/$(printf '%04d' "$i")_c$i.sql"
	done
	local pids=() bad=0
	for k in $(seq 1 20); do
		"$DBSHIFT" --database "sqlite:$WORK/audit_concurrent.db" migrate > "out$k" 2>&1 &
		pids+=($!)
	done
	for k in "${pids[@]}"; do wait "$k" || bad=$((bad + 1)); done
	check_eq "$bad $(cat out* | grep -c 'already exists')" "0 0" "$tag: every one exits 0, none blames the SQL"
	check_eq "$(sql "sqlite:$WORK/audit_concurrent.db" "SELECT count(*), count(DISTINCT version) FROM dbshift_migrations WHERE status = 'applied'")" \
		"60|60" "$tag: each migration applied once"
	cd "$WORK" || return
}

# what users of dbmate reach for first: db/migrations, create
t_audit_dbmate_ways() {
	local tag="$DRIVER dbmate's ways" url
	rm -rf "$WORK/audit_dbmate"
	mkdir -p "$WORK/audit_dbmate/db/migrations"
	cd "$WORK/audit_dbmate" || return
	printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n' > db/migrations/20240101000000_a.sql
	case $DRIVER in
	sqlite) url="sqlite:$WORK/audit_dbmate/app.db" ;;
	*) url=$(pg_newdb audit_dbmate_gone); sql "$PG_ADMIN_URL" "DROP DATABASE audit_dbmate_gone" >/dev/null ;;
	esac
	dbs --database "$url" create
	check_rc 0 "$tag: create exits 0"
	check_contains "$OUT" " created" "$tag: it made the database"
	dbs --database "$url" --json create
	check_eq "$(echo "$OUT" | jq -r '"\(.ok) \(.created)"')" "true false" "$tag: a second create finds it there"
	dbs --database "$url" migrate
	check_rc 0 "$tag: with no migrations/, db/migrations is the directory"
	check_eq "$(table_exists "$url" a)" "1" "$tag: its migration ran"
	dbs new b
	check_eq "$(ls db/migrations | grep -c '_b.sql$')" "1" "$tag: new writes into db/migrations"
	cd "$WORK" || return
}

# a backup killed on the way: no half backup is ever taken for one
t_audit_partial_backup() {
	local tag="$DRIVER partial backup" url
	audit_project audit_partial up-only
	dbs --database "$url" migrate
	# what a backup killed in its dump leaves: a hidden directory with
	# the pid of a process that is gone
	sh -c 'exit 0' &
	local dead=$!
	wait "$dead"
	mkdir -p "backups/.partial-20240101T000000Z-$dead"
	printf 'half a dump' > "backups/.partial-20240101T000000Z-$dead/db.dump"
	dbs --database "$url" --json backups list
	check_eq "$(echo "$OUT" | jq -r '.backups | length')" "0" "$tag: backups list shows no half backup"
	dbs --database "$url" --json backup
	check_rc 0 "$tag: the next backup succeeds"
	check_eq "$(ls -A backups | grep -c partial)" "0" "$tag: and removed what the killed one left"
	check_eq "$(ls backups | wc -l)" "1" "$tag: one backup, whole"
	check_contains "$(cat logs/dbshift.log)" "left by a backup that did not finish" "$tag: the log says so"
	cd "$WORK" || return
}

# a release after one stopped in its data step resumes that data run
t_audit_release_resumes_data() {
	local tag="$DRIVER release resumes data" url
	project audit_rel_data
	url=$(newdb audit_rel_data)
	local vals; vals=$(seq -s '),(' 1 40)
	printf -- "-- dbshift:data ../fill.sql\n-- migrate:up\nCREATE TABLE t (id bigint PRIMARY KEY, s text);\nINSERT INTO t (id) VALUES ($vals);\n" > migrations/1_t.sql
	printf -- "-- dbshift:table t\n-- dbshift:key id\n-- dbshift:pending s IS NULL\nUPDATE t SET s = 'x' WHERE id > :lo AND id <= :hi AND s IS NULL;\n" > fill.sql
	printf '[release]\nsteps = migrate data\n' > dbshift.conf
	mkdir migrations/data
	mv fill.sql migrations/data/fill.sql
	sed -i 's|../fill.sql|data/fill.sql|' migrations/1_t.sql
	dbs --database "$url" status
	check_rc 0 "$tag: a data file in migrations/data is no app (every command failed)"
	mv migrations/data/fill.sql fill.sql
	rmdir migrations/data
	sed -i 's|data/fill.sql|../fill.sql|' migrations/1_t.sql
	dbs --database "$url" migrate
	# what a release stopped in its data step leaves: part of the rows, a checkpoint
	sql "$url" "UPDATE t SET s = NULL; DELETE FROM dbshift_data" >/dev/null
	dbs --database "$url" data run fill.sql --max-rows 10 --batch-size 5
	check_eq "$(sql "$url" "SELECT count(*) FROM t WHERE s IS NULL")" "30" "$tag: 30 rows left"
	dbs --database "$url" release
	check_rc 0 "$tag: the next release exits 0"
	check_eq "$(sql "$url" "SELECT count(*) FROM t WHERE s IS NULL")" "0" "$tag: it finished the data run"
	# one whose file changed since is refused, not skipped
	sql "$url" "UPDATE t SET s = NULL WHERE id > 20; UPDATE dbshift_data SET finished = 0, rows_done = 20, last_key = '20'" >/dev/null
	printf -- "\n-- changed\n" >> fill.sql
	dbs --database "$url" release
	check_rc 3 "$tag: a data run whose file changed: exit 3"
	check_contains "$ERR" "dbshift: error: the data run of fill.sql did not finish (20 rows changed, up to key 20), and its file has changed since" \
		"$tag: saying which and why"
	cd "$WORK" || return
}

# serve outlives its session, and many idle connections
t_audit_serve() {
	local tag="$DRIVER serve" url
	audit_project audit_serve up-only
	dbs --database "$url" migrate
	if ! serve_start "$url"; then
		not_ok "$tag: serve starts" "$(cat "$WORK/serve.out")"
		cd "$WORK" || return
		return
	fi
	get "api/status"
	check_eq "$CODE" "200" "$tag: /api/status answers"
	if [ "$DRIVER" = postgres ]; then
		sql "$url" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'audit_serve' AND pid <> pg_backend_pid()" >/dev/null
		get "api/status"
		check_eq "$CODE $(printf '%s' "$BODY" | jq -r '.summary.applied')" "200 1" \
			"$tag: after the server ended its session, the next request connects again"
	fi
	# 1,100 idle connections (select stopped at 1,024)
	local port=${SERVE##*:}
	port=${port%%/*}
	/usr/bin/python3 -c '
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(1100)]
open(sys.argv[2], "w").close()
time.sleep(60)
' "$port" "$WORK/idle.ready" &
	local idle=$!
	until_ok 60 test -e "$WORK/idle.ready"
	get "api/status"
	check_eq "$CODE" "200" "$tag: with 1,100 idle connections open, a request is answered"
	kill "$idle" 2>/dev/null
	wait "$idle" 2>/dev/null
	rm -f "$WORK/idle.ready"
	serve_stop
	cd "$WORK" || return
}

# the end alert is sent after the migrator lock is given back
t_audit_alert_after_lock() {
	local tag="postgres alert after the lock" url
	audit_project audit_alert up-only
	local silent port
	silent_start
	printf '[dbshift]\nnotify_url = http://127.0.0.1:%s/hook\nnotify_on = success\nnotify_timeout = 2s\n' \
		"$port" > dbshift.conf
	"$DBSHIFT" --database "$url" migrate > "$WORK/alert.out" 2>&1 &
	local pid=$!
	wait_for "$url" "SELECT count(*) FROM dbshift_runs WHERE status = 'succeeded'" 1 60
	until_ok 30 test "$(sql "$url" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0
	if kill -0 "$pid" 2>/dev/null; then ok "$tag: the lock is free while the alert still waits"
	else not_ok "$tag: the lock is free while the alert still waits" "$(cat "$WORK/alert.out")"; fi
	wait "$pid"
	check_eq "$?" "0" "$tag: the run succeeds"
	check_contains "$(sql "$url" "SELECT report FROM dbshift_runs")" "notification of migrate succeeded to http://127.0.0.1:" \
		"$tag: the failed alert is a warning in the run's report"
	kill "$silent" 2>/dev/null
	wait "$silent" 2>/dev/null
	cd "$WORK" || return
}

t_audit() {
	t_audit_options
	t_audit_from_backup
	t_audit_release_schema_file
	t_audit_hooks
	t_audit_django_output
	t_audit_bounds
	t_audit_config
	t_audit_data_keyword
	t_audit_url_at
	t_audit_adopt_shape
	t_audit_dbmate_ways
	t_audit_partial_backup
	t_audit_release_resumes_data
	t_audit_serve
	[ "$DRIVER" = sqlite ] && t_audit_concurrent_sqlite
	[ "$DRIVER" = postgres ] && t_audit_alert_after_lock
	return 0
}
