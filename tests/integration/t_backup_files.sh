# t_backup_files.sh - files kept with the database (backup_paths): archived
# with each backup, put back byte for byte by restore and by rollback
# --from-backup (or under --files-to), sealed with the rest when backups
# are encrypted; a bad path is refused before anything is written.

tree_sums() {  # the checksums of every file below the given paths
	find "$@" -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 -r sha256sum
}

t_backup_files() {
	project bfiles
	local url; url=$(newdb bfiles) tag="$DRIVER backup files"
	printf -- '-- migrate:up\nCREATE TABLE t (id bigint PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n' > migrations/1_t.sql
	dbs --database "$url" migrate
	mkdir -p media/2024/11 static
	head -c 300000 /dev/urandom > media/2024/11/photo.bin
	printf 'a file with spaces\n' > "media/2024/11/my notes.txt"
	printf 'body{}\n' > static/site.css
	local sums; sums=$(tree_sums media static)
	printf '[dbshift]\nbackup_paths = media ../elsewhere\n' > dbshift.conf
	dbs --database "$url" backup
	check_rc 2 "$tag: a path outside the project is refused"
	check_contains "$ERR" "backup_paths: '../elsewhere' is not a path inside the project" "$tag: it names the path"
	printf '[dbshift]\nbackup_paths = media nothing-here\n' > dbshift.conf
	dbs --database "$url" backup
	check_rc 2 "$tag: a path that is not there is refused"
	check_eq "$(ls backups 2>/dev/null | wc -l)" "0" "$tag: and no backup is written"

	printf '[dbshift]\nbackup_paths = media static\n' > dbshift.conf
	dbs --database "$url" --json backup
	check_rc 0 "$tag: a backup with its files"
	local id; id=$(printf '%s' "$OUT" | jq -r .id)
	check_eq "$(printf '%s' "$OUT" | jq -r '[(.paths_archive.paths | join(",")), (.paths_archive.files | length), (.files | map(.path) | any(startswith("files.tar")))] | map(tostring) | join(" ")')" \
		"media,static 3 true" "$tag: the manifest lists the archive and each file's checksum"
	dbs --database "$url" backups verify "$id" --restore
	check_rc 0 "$tag: verify --restore unpacks the files too"

	# changed, removed and added files: restore puts them back as they were
	printf 'changed\n' > media/2024/11/photo.bin
	rm static/site.css
	printf 'new\n' > media/added.txt
	dbs --database "$url" restore "$id" --yes
	check_rc 0 "$tag: restore"
	check_eq "$(tree_sums media static)" "$sums" "$tag: the files are back byte for byte, nothing added left"
	check_eq "$(ls -d media.dbshift-restore-* static.dbshift-restore-* 2>/dev/null | wc -l)" "0" "$tag: nothing set aside is left"

	dbs --database "$url" restore "$id" --yes --files-to "$WORK/bfiles-out"
	check_rc 0 "$tag: restore --files-to"
	check_eq "$(cd "$WORK/bfiles-out" && tree_sums media static)" "$sums" "$tag: the files under that directory"

	rm -rf media
	dbs --database "$url" rollback --from-backup "$id" --yes
	check_rc 0 "$tag: rollback --from-backup"
	check_eq "$(tree_sums media static)" "$sums" "$tag: puts the files back too"

	# encrypted: the archive is sealed with the dump
	openssl rand -hex 32 > key
	chmod 600 key
	printf '[dbshift]\nbackup_paths = media static\nbackup_encrypt = true\nbackup_key_file = key\n' > dbshift.conf
	dbs --database "$url" --json backup
	check_rc 0 "$tag: an encrypted backup with files"
	local eid; eid=$(printf '%s' "$OUT" | jq -r .id)
	check_eq "$(printf '%s' "$OUT" | jq -r '[.files[].path | select(startswith("files.tar"))] | .[0] | endswith(".enc")')" "true" "$tag: the archive is sealed"
	rm -rf media static
	dbs --database "$url" restore "$eid" --yes
	check_rc 0 "$tag: and restored"
	check_eq "$(tree_sums media static)" "$sums" "$tag: byte for byte"
	cd "$WORK" || return
}
