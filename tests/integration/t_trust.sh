# t_trust.sh - regression tests for the trust issue: never the wrong
# database, never a leaked password, never a crash or a hang, never silent
# acceptance of bad input.  Each check names the item it guards.

# t_trust_input: bad files and flags are input errors, nothing changes.
t_trust_input() {
	project trust_input
	URL=$(newdb trust_input)
	local tag="$DRIVER trust"
	good_migration 1_one.sql one
	dbs --database "$URL" migrate
	check_rc 0 "$tag: setup migrate"

	# 4: transaction control inside a transactional migration
	printf -- '-- migrate:up\nCREATE TABLE two (id int);\nCOMMIT;\nCREATE TABLE three (id int);\n' > migrations/2_commit.sql
	input_case "COMMIT in a transactional migration" "dbshift: error: migrations/2_commit.sql:3:1: transaction control (COMMIT) in a migration that runs in a transaction" --database "$URL" migrate
	printf -- '-- migrate:up\nBEGIN;\nCREATE TABLE two (id int);\n' > migrations/2_commit.sql
	input_case "BEGIN in a transactional migration" "dbshift: error: migrations/2_commit.sql:2:1: transaction control (BEGIN) in a migration that runs in a transaction" --database "$URL" migrate
	printf -- '-- migrate:up\nCREATE TABLE two (id int);\nROLLBACK;\n' > migrations/2_commit.sql
	input_case "ROLLBACK in a transactional migration" "dbshift: error: migrations/2_commit.sql:3:1: transaction control (ROLLBACK) in a migration that runs in a transaction" --database "$URL" migrate
	rm migrations/2_commit.sql

	# 5: a NUL byte would truncate the migration
	printf -- '-- migrate:up\nCREATE TABLE two (id int);\n\0DROP TABLE one;\n' > migrations/2_nul.sql
	input_case "NUL byte" "dbshift: error: migrations/2_nul.sql:3:1: the file contains a NUL byte (byte 42)" --database "$URL" migrate
	rm migrations/2_nul.sql
	# 6: invalid UTF-8 is found before anything runs
	printf -- '-- migrate:up\nCREATE TABLE two (id int);\nINSERT INTO two VALUES (1); -- caf\xe9\n' > migrations/2_latin1.sql
	input_case "invalid UTF-8" "dbshift: error: migrations/2_latin1.sql:3:35: the file contains invalid UTF-8 (byte 76)" --database "$URL" migrate
	rm migrations/2_latin1.sql

	# 14: only regular files: a FIFO or /dev/zero named *.sql does not hang
	mkfifo migrations/2_fifo.sql
	OUT=$(timeout 20 "$DBSHIFT" --database "$URL" status 2>&1); RC=$?
	check_rc 2 "$tag: a FIFO named like a migration is an input error, not a hang"
	check_contains "$OUT" "cannot read 'migrations/2_fifo.sql': not a regular file" "$tag: the FIFO is named"
	rm migrations/2_fifo.sql
	ln -s /dev/zero migrations/2_zero.sql
	OUT=$(timeout 20 "$DBSHIFT" --database "$URL" status 2>&1); RC=$?
	check_rc 2 "$tag: a link to /dev/zero is an input error, not a hang"
	rm migrations/2_zero.sql
	# 18: a directory named like a migration file is not an app
	mkdir migrations/3_c.sql
	input_case "directory named like a file" "dbshift: error: migrations/3_c.sql: a directory named like a migration file" --database "$URL" migrate
	rmdir migrations/3_c.sql

	# 13: a statement too deep to analyse is an input error, not a crash
	python3 -c "print('-- migrate:up'); print('SELECT 1' + '+1' * 200000 + ';')" > migrations/2_deep.sql
	dbs lint migrations/2_deep.sql
	check_rc 2 "$tag: lint of a deeply nested statement exits 2"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: migrations/2_deep.sql:2:1: statement nested too deeply to analyse" "$tag: the deep statement is named"
	rm migrations/2_deep.sql

	# 18: bad flags and values
	input_case "--lock-wait nan" "dbshift: error: bad --lock-wait 'nan': give a duration such as 500ms, 2s, 5min, 1h or 7d (a bare number is seconds)" --database "$URL" --lock-wait nan migrate
	input_case "--config a directory" "dbshift: error: cannot read config file 'migrations': Is a directory" --config migrations --database "$URL" migrate
	printf '[dbshift]\nlock_wait = nan\n' > nan.conf
	input_case "lock_wait = nan" "dbshift: error: nan.conf:2:1: bad lock_wait 'nan'" --config nan.conf --database "$URL" migrate
	printf -- '-- dbshift:table one\n-- dbshift:key id\nUPDATE one SET id = id WHERE id > :lo AND id <= :hi;\n' > fill.sql
	input_case "--batch-size too big" "dbshift: error: bad --batch-size '4294967296': give a whole number from 0 to 100000000" --database "$URL" data run fill.sql --batch-size 4294967296

	# 11: the log holds SQL and errors: only its owner reads it
	check_eq "$(stat -c %a logs)" "700" "$tag: logs/ is 0700"
	check_eq "$(stat -c %a logs/dbshift.log)" "600" "$tag: the log is 0600"
	cd "$WORK" || return
}

# t_trust_data: data runs never run stacked SQL, and checkpoints are per file.
t_trust_data() {
	project trust_data
	local url; url=$(newdb trust_data) tag="$DRIVER trust data"
	sql "$url" "CREATE TABLE t (id int PRIMARY KEY, n int); INSERT INTO t SELECT x, NULL FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) SELECT x FROM c) s; CREATE TABLE victim (id int)" >/dev/null
	mkdir -p data/x data/y
	# 7: --dry-run runs the count only: SQL stacked in 'pending' never runs
	printf -- '-- dbshift:table t\n-- dbshift:key id\n-- dbshift:pending n IS NULL); DROP TABLE victim; SELECT (1\nUPDATE t SET n = 1 WHERE id > :lo AND id <= :hi AND n IS NULL;\n' > data/x/evil.sql
	dbs --database "$url" data run data/x/evil.sql --dry-run
	check_eq "$(table_exists "$url" victim)" "1" "$tag: stacked SQL in a data file never runs"
	[ "$RC" != 0 ] && ok "$tag: the stacked statement is refused" || not_ok "$tag: the stacked statement is refused" "exit $RC: $OUT $ERR"
	# the statement of a data file is one statement
	printf -- '-- dbshift:table t\n-- dbshift:key id\nUPDATE t SET n = 1 WHERE id > :lo AND id <= :hi; DROP TABLE victim;\n' > data/x/two.sql
	dbs --database "$url" data run data/x/two.sql
	[ "$RC" != 0 ] && ok "$tag: two statements in a data file are refused" || not_ok "$tag: two statements in a data file are refused" "exit $RC: $OUT $ERR"
	check_eq "$(table_exists "$url" victim)" "1" "$tag: the second statement never ran"
	check_eq "$(sql "$url" "SELECT count(*) FROM t WHERE n IS NOT NULL")" "0" "$tag: nor the first"
	# 7: checkpoints are per file path (and content), not per base name
	printf -- '-- dbshift:table t\n-- dbshift:key id\nUPDATE t SET n = coalesce(n, 0) + 1 WHERE id > :lo AND id <= :hi;\n' > data/x/backfill.sql
	printf -- '-- dbshift:table t\n-- dbshift:key id\nUPDATE t SET n = n * 10 WHERE id > :lo AND id <= :hi;\n' > data/y/backfill.sql
	dbs --database "$url" data run data/x/backfill.sql
	check_rc 0 "$tag: data/x/backfill.sql runs"
	dbs --database "$url" data run data/y/backfill.sql
	check_rc 0 "$tag: data/y/backfill.sql runs"
	check_eq "$(sql "$url" "SELECT min(n) || ':' || max(n) FROM t")" "10:10" "$tag: the second file with the same name was not skipped as done"
	dbs --database "$url" data run data/x/backfill.sql
	check_eq "$(sql "$url" "SELECT min(n) || ':' || max(n) FROM t")" "10:10" "$tag: a finished file is not run again"
	# 12: an error message passed back into the error helper survives (ASan)
	printf -- '-- dbshift:table t\n-- dbshift:key id\nUPDATE t SET no_such_column = 1 WHERE id > :lo AND id <= :hi;\n' > data/x/bad.sql
	dbs --database "$url" data run data/x/bad.sql
	check_rc 1 "$tag: a failing data statement exits 1"
	check_contains "$ERR" "no_such_column" "$tag: its message names the column"
	cd "$WORK" || return
}

# t_trust_backup: a damaged manifest is refused; a backup is restored only
# into the database it was taken of; identifiers are quoted.
t_trust_backup() {
	project trust_backup
	local url; url=$(newdb trust_backup) tag="$DRIVER trust backup"
	good_migration 1_one.sql one
	dbs --database "$url" migrate
	sql "$url" "INSERT INTO one VALUES (1), (2)" >/dev/null
	dbs --database "$url" backup
	check_rc 0 "$tag: backup"
	local id; id=$(ls backups | head -n 1)
	check_contains "$(cat "backups/$id/manifest.json")" '"identity": ' "$tag: the manifest records the database's identity"

	# 2: damaged manifests
	cp "backups/$id/manifest.json" good.json
	jq '.files = [] | .tables = {}' good.json > "backups/$id/manifest.json"
	local before; before=$(snapshot "$url")
	dbs --database "$url" backups verify "$id"
	check_rc 2 "$tag: a manifest without files does not verify"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: backups/$id/manifest.json: damaged manifest of backup '$id': it lists no files (at least the dump)" "$tag: it says what is wrong"
	dbs --database "$url" restore "$id" --yes
	check_rc 2 "$tag: a manifest without files is not restored"
	check_eq "$(snapshot "$url")" "$before" "$tag: the refused restore changed nothing"
	jq 'del(.files[0].sha256)' good.json > "backups/$id/manifest.json"
	dbs --database "$url" restore "$id" --yes
	check_rc 2 "$tag: a file without a checksum is refused, not a crash"
	check_contains "$ERR" "a file has no SHA-256" "$tag: the missing checksum is named"
	jq '.files[0].path = "../../etc/passwd"' good.json > "backups/$id/manifest.json"
	dbs --database "$url" backups verify "$id"
	check_rc 2 "$tag: a file outside the backup is refused"
	cp good.json "backups/$id/manifest.json"

	# 3: restore only into the database the backup was taken of
	local other; other=$(newdb trust_other)
	dbs --database "$other" migrate
	local before_other; before_other=$(snapshot "$other")
	dbs --database "$other" restore "$id" --yes
	check_rc 2 "$tag: a backup of another database is not restored into this one"
	check_contains "$ERR" "was taken of another database" "$tag: it says so"
	check_contains "$ERR" "HINT: to restore it into this database anyway, name it with --target URL" "$tag: the hint names --target"
	check_eq "$(snapshot "$other")" "$before_other" "$tag: the other database is unchanged"
	dbs --database "$other" backups verify
	check_rc 2 "$tag: the other database has no backup of its own to verify"
	# the prompt names the database, and no is no
	OUT=$(printf 'no\n' | script -qec "$DBSHIFT --database '$other' restore $id --target '$other'" /dev/null 2>&1); RC=$?
	check_rc 1 "$tag: answering no exits 1"
	check_contains "$OUT" "into $(echo "$other" | sed 's/:[^:@/]*@/@/')" "$tag: the prompt names the database"
	check_eq "$(snapshot "$other")" "$before_other" "$tag: answering no changed nothing"

	# 8: tables made since the backup, with names that need quoting, go
	sql "$url" 'CREATE TABLE "my table" (id int); CREATE TABLE "a--x" (id int)' >/dev/null
	dbs --database "$url" restore "$id" --yes
	check_rc 0 "$tag: restore drops tables with any name"
	check_eq "$(table_exists "$url" "my table")$(table_exists "$url" "a--x")$(table_exists "$url" one)" "001" "$tag: the new tables are gone, the old one back"
	cd "$WORK" || return
}

# t_trust_env: an environment's own database beats an ambient DATABASE_URL.
t_trust_env() {
	project trust_env
	local tag="sqlite trust env"
	good_migration 1_one.sql one
	printf '[dbshift]\n[env "dev"]\ndatabase = sqlite:dev.db\n' > dbshift.conf
	OUT=$(DATABASE_URL=sqlite:ambient.db "$DBSHIFT" --env dev migrate 2>&1); RC=$?
	check_rc 0 "$tag: migrate with --env dev and DATABASE_URL set"
	check_eq "$(table_exists sqlite:dev.db one)$( [ -f ambient.db ] && echo 1 || echo 0)" "10" "$tag: the environment's database was migrated, not DATABASE_URL's"
	OUT=$(DATABASE_URL=sqlite:ambient.db "$DBSHIFT" migrate 2>&1); RC=$?
	check_eq "$(table_exists sqlite:ambient.db one)" "1" "$tag: without an environment, DATABASE_URL is used"
	cd "$WORK" || return
}

# t_trust_sqlite_busy: a write lock held past --lock-wait is reported, with
# the time waited, instead of a bare "database is locked" after 5 s.
t_trust_sqlite_busy() {
	project trust_busy
	local url; url=$(newdb trust_busy) tag="sqlite trust busy"
	good_migration 1_one.sql one
	dbs --database "$url" migrate
	good_migration 2_two.sql two
	rm -f gate
	mkfifo gate
	python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute('BEGIN EXCLUSIVE')
print('held', flush=True)
sys.stdin.read()
" "${url#sqlite:}" < gate > held.out 2>&1 &
	local holder=$!
	exec 8>gate
	local i=0
	while [ "$(cat held.out 2>/dev/null)" != held ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	dbs --database "$url" --lock-wait 1s status
	check_rc 1 "$tag: status gives up after --lock-wait"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: the database stayed locked by another process for 1000 ms" "$tag: and says what it waited for"
	dbs --database "$url" --lock-wait 500ms migrate
	check_rc 1 "$tag: migrate gives up after --lock-wait"
	exec 8>&-
	wait $holder
	dbs --database "$url" migrate
	check_rc 0 "$tag: once released, migrate runs"
	cd "$WORK" || return
}

# t_trust_urls: URL shapes libpq accepts connect, and their passwords show
# nowhere; malformed ones are input errors (exit 2) that show none either.
t_trust_urls() {
	project trust_urls
	local tag="postgres trust urls" pw='Qz?9se#cr%et'
	sql "$PG_ADMIN_URL" "DROP ROLE IF EXISTS app2; CREATE ROLE app2 LOGIN PASSWORD 'Qz?9se#cr%et' CREATEDB" >/dev/null
	local base; base=$(newdb trust_urls)
	sql "$base" "GRANT ALL ON SCHEMA public TO app2" >/dev/null
	local enc='Qz%3F9se%23cr%25et'
	good_migration 1_one.sql one
	# 9: percent-encoded, raw with ? and #, in the query, in key=value form
	local u1="postgres://app2:$enc@127.0.0.1:$PGPORT_TEST/trust_urls"
	local u2="postgres://app2:Qz?9se#cr%et@127.0.0.1:$PGPORT_TEST/trust_urls"
	local u3="postgres://app2@127.0.0.1:$PGPORT_TEST/trust_urls?password=$enc&sslmode=disable"
	local u4="host=127.0.0.1 port=$PGPORT_TEST dbname=trust_urls user=app2 password='$pw'"
	local u5="postgres://app2:wrong@127.0.0.1:$PGPORT_TEST/trust_urls?password=$enc"
	local u n=0
	for u in "$u1" "$u3" "$u4" "$u5"; do
		n=$((n + 1))
		dbs --database "$u" --json status
		check_rc 0 "$tag: URL shape $n connects"
		check_lacks "$OUT$ERR" "Qz" "$tag: URL shape $n: no password in the output"
	done
	dbs --database "$u2" --json migrate
	check_rc 2 "$tag: a raw '%' in a password is bad percent-encoding: exit 2"
	check_lacks "$OUT$ERR" "Qz" "$tag: and the message shows no part of the password"
	check_lacks "$OUT$ERR" "cr%et" "$tag: nor its tail"
	dbs --database "$u1" --json migrate
	check_rc 0 "$tag: migrate with the password percent-encoded"
	dbs --database "$u4" backup --format plain
	check_rc 0 "$tag: backup with key=value conninfo"
	dbs --database "$u3" backups verify --restore
	check_rc 0 "$tag: verify --restore with the password in the query"
	check_lacks "$(cat logs/dbshift.log backups/*/manifest.json)" "Qz" "$tag: no password in the log or manifests"
	check_lacks "$(sql "$base" "SELECT string_agg(report::text, ' ') FROM dbshift_runs")" "Qz" "$tag: no password in dbshift_runs"

	# 1: verify --restore never drops a database named by the URL's query
	sql "$PG_ADMIN_URL" "DROP DATABASE IF EXISTS victim" >/dev/null
	sql "$PG_ADMIN_URL" "CREATE DATABASE victim" >/dev/null
	dbs --database "$u1?sslmode=disable&sslrootcert=/tmp/victim" backups verify --restore
	check_rc 0 "$tag: verify --restore with a '/' in the URL's query"
	check_eq "$(sql "$PG_ADMIN_URL" "SELECT count(*) FROM pg_database WHERE datname = 'victim'")" "1" "$tag: the database named after the last '/' is still there"
	check_eq "$(sql "$PG_ADMIN_URL" "SELECT count(*) FROM pg_database WHERE datname LIKE 'dbshift_verify_%'")" "0" "$tag: no scratch database is left behind"

	# 18: malformed URLs are input errors; an unreachable server is a failure
	local bad
	for bad in "postgres://app2:$enc@[::1:5432/db" "postgres://app2:a%zzb@127.0.0.1/db" \
		"postgres://app2@127.0.0.1:99999/db" "postgres://app2@127.0.0.1:$PGPORT_TEST/db?sslmode=bogus"; do
		dbs --database "$bad" status
		check_rc 2 "$tag: '$bad' is an input error"
		check_lacks "$ERR" "Qz" "$tag: '$bad': no password in the message"
	done
	dbs --database "postgres://app2:$enc@127.0.0.1:1/db" status
	check_rc 1 "$tag: a server that does not answer is a failure (exit 1)"
	check_lacks "$ERR" "password" "$tag: with no hint about passwords"
	# 10: an empty password parameter does not spin
	OUT=$(timeout 20 "$DBSHIFT" --database "postgres://app2@127.0.0.1:$PGPORT_TEST/trust_urls?password=" status 2>&1); RC=$?
	[ "$RC" != 124 ] && ok "$tag: an empty password= ends" || not_ok "$tag: an empty password= ends" "timed out"
	OUT=$(DATABASE_URL="postgres://app2@127.0.0.1:$PGPORT_TEST/trust_urls?password=" timeout 20 "$DBSHIFT" status 2>&1); RC=$?
	[ "$RC" != 124 ] && ok "$tag: an empty password= from the environment ends" || not_ok "$tag: an empty password= from the environment ends" "timed out"
	cd "$WORK" || return
}
