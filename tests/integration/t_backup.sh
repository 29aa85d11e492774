# t_backup.sh - backup, verify, restore: a dropped table comes back with
# its rows; a damaged file is named; a test restore leaves no scratch
# database; require_backup that cannot be met refuses and changes nothing;
# the password never shows in the process list while pg_dump runs.

t_backup() {
	project backup
	local url; url=$(newdb backup) tag="$DRIVER backup"
	printf -- '-- migrate:up\nCREATE TABLE t (id bigint PRIMARY KEY, v text);\nINSERT INTO t VALUES (1, %s), (2, %s), (3, %s);\n-- migrate:down\nDROP TABLE t;\n' "'a'" "'b'" "'c'" > migrations/1_t.sql
	dbs --database "$url" migrate
	dbs --database "$url" --json backup
	check_rc 0 "$tag: backup exits 0"
	local id; id=$(echo "$OUT" | jq -r '.id')
	check_eq "$(echo "$OUT" | jq -r '"\(.tables.t // .tables["public.t"]) \(.migrations[""]) \(.files | length)"')" "3 1 1" "$tag: the manifest has row counts, the migration version and the files"
	check_eq "$(stat -c %a "backups/$id") $(stat -c %a "backups/$id/manifest.json") $(stat -c %a "backups/$id/$(echo "$OUT" | jq -r '.files[0].path')")" "700 600 600" "$tag: directory 0700, files 0600"
	dbs --database "$url" backups list
	check_contains "$OUT" "$id  " "$tag: backups list shows it"

	dbs --database "$url" backups verify "$id" --restore
	check_rc 0 "$tag: verify --restore passes"
	if [ "$DRIVER" = postgres ]; then
		check_eq "$(sql "$url" "SELECT count(*) FROM pg_database WHERE datname LIKE 'dbshift_verify_%'")" "0" "$tag: no scratch database is left"
	else
		check_eq "$(ls /tmp/dbshift_verify_* 2>/dev/null | wc -l)" "0" "$tag: no scratch database is left"
	fi

	# drop a table, add one, then restore: as it was
	sql "$url" "DROP TABLE t; CREATE TABLE later (x int)" >/dev/null
	dbs --database "$url" restore "$id" --yes
	check_rc 0 "$tag: restore exits 0"
	check_eq "$(sql "$url" "SELECT id || v FROM t ORDER BY id")" "1a
2b
3c" "$tag: the table and its rows are back"
	check_eq "$(table_exists "$url" later)" "0" "$tag: tables made since the backup are gone"
	check_eq "$(sql "$url" "SELECT version FROM dbshift_migrations")" "1" "$tag: the history is the backup's"
	dbs --database "$url" restore "$id" </dev/null
	check_rc 2 "$tag: restore without --yes off a terminal is refused"

	# a damaged file is found and named
	local f; f=$(ls "backups/$id" | grep -v manifest | head -n 1)
	if [ -d "backups/$id/$f" ]; then f="$f/$(ls "backups/$id/$f" | head -n 1)"; fi
	printf 'x' >> "backups/$id/$f"
	dbs --database "$url" backups verify "$id"
	check_rc 1 "$tag: a damaged backup fails verify"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: backup file 'backups/$id/$f' does not match its checksum" "$tag: and names the file"

	# require_backup that cannot be met: refused, nothing changed
	printf -- '-- migrate:up\nCREATE TABLE u (id int);\n' > migrations/2_u.sql
	printf '[dbshift]\nbackup_dir = migrations/1_t.sql/backups\nrequire_backup = true\n' > dbshift.conf
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 3 "$tag: require_backup without a backup refuses"
	check_contains "$(echo "$ERR" | head -n 1)" "dbshift: error: no verified backup, so nothing was run: cannot create backup directory 'migrations/1_t.sql/backups/" "$tag: says why"
	check_eq "$(snapshot "$url")" "$before" "$tag: and changes nothing"
	rm dbshift.conf
	dbs --database "$url" migrate --backup
	check_rc 0 "$tag: migrate --backup"
	check_eq "$(ls backups | wc -l)" "2" "$tag: took a backup first"
	local taken; taken=$(ls backups | tail -n 1)
	check_contains "$OUT" "backup $taken was taken first: 'dbshift rollback --from-backup $taken' puts the database back as it was" \
		"$tag: and says its id, and what undoes the run"
	cd "$WORK" || return
}

t_backup_password() {
	project backuppw
	local url; url=$(newdb backuppw) tag="postgres backup password"
	sql "$url" "CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 10) g" >/dev/null
	# a pg_dump first on PATH that records the arguments it was given, then
	# runs the real one
	mkdir -p bin
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >> "%s/pg_dump.args"\nexec %s/pg_dump "$@"\n' \
		"$PWD" "$PG_BIN" > bin/pg_dump
	chmod +x bin/pg_dump
	OUT=$(PATH="$PWD/bin:$PATH" "$DBSHIFT" --database "$url" backup --format plain 2>&1); RC=$?
	check_rc 0 "$tag: backup"
	local args; args=$(cat pg_dump.args 2>/dev/null)
	check_contains "$args" "--format=p --file=" "$tag: pg_dump ran"
	check_lacks "$args" "$PG_PASSWORD" "$tag: its command line has no password"
	check_contains "$args" "--dbname=user='postgres' dbname='backuppw' host='127.0.0.1'" "$tag: the connection it gets has none"
	cd "$WORK" || return
}
