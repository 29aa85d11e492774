# t_audit.sh - what an audit of the commands and the fault trials found,
# each a regression test: options checked per command, the same
# confirmation for everything that replaces a database, ...

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
	project audit_from_backup
	url=$(newdb audit_from_backup)
	printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n' > migrations/1_a.sql
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
	project audit_schema_file
	url=$(newdb audit_schema_file)
	printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n' > migrations/1_a.sql
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

t_audit() {
	t_audit_options
	t_audit_from_backup
	t_audit_release_schema_file
}
