# t_backup_keep.sh - backups encrypted at rest (a round trip, a wrong key,
# a flipped byte, a key readable by others) and the retention that runs
# after every backup (backup_keep, backup_max_age, the newest verified
# backup kept).

t_backup_crypt() {
	project bcrypt
	local url; url=$(newdb bcrypt) tag="$DRIVER backup encryption"
	printf -- "-- migrate:up\nCREATE TABLE t (id bigint PRIMARY KEY, v text);\nINSERT INTO t VALUES (1, 'plain-secret-row');\n-- migrate:down\nDROP TABLE t;\n" > migrations/1_t.sql
	dbs --database "$url" migrate
	openssl rand -hex 32 > key
	chmod 644 key
	printf '[dbshift]\nbackup_encrypt = true\nbackup_key_file = key\n' > dbshift.conf
	dbs --database "$url" backup
	check_rc 2 "$tag: a key file others can read is refused"
	check_contains "$ERR" "backup_key_file 'key' can be read by others (mode 0644)" "$tag: it says so"
	check_contains "$ERR" "chmod 600 key" "$tag: and what to do"
	check_eq "$(ls backups 2>/dev/null | wc -l)" "0" "$tag: and writes no backup"
	printf '[dbshift]\nbackup_encrypt = true\n' > dbshift.conf
	dbs --database "$url" backup
	check_rc 2 "$tag: backup_encrypt without backup_key_file is refused"
	check_contains "$ERR" "no backup_key_file says where the key is" "$tag: it names the setting"
	printf 'too short\n' > short
	chmod 600 short key
	printf '[dbshift]\nbackup_encrypt = true\nbackup_key_file = short\n' > dbshift.conf
	dbs --database "$url" backup
	check_rc 2 "$tag: a key file without a 32-byte key is refused"

	printf '[dbshift]\nbackup_encrypt = true\nbackup_key_file = key\n' > dbshift.conf
	dbs --database "$url" --json backup
	check_rc 0 "$tag: an encrypted backup"
	local id; id=$(printf '%s' "$OUT" | jq -r .id)
	check_eq "$(printf '%s' "$OUT" | jq -r '[.encryption, (.files | all(.path | endswith(".enc"))), (.files | all(.plain_sha256 | length == 64)), (.files | all(.sha256 != .plain_sha256))] | map(tostring) | join(" ")')" \
		"aes-256-gcm true true true" "$tag: the manifest lists each file sealed, with both SHA-256s"
	check_eq "$(find "backups/$id" -type f ! -name '*.enc' ! -name manifest.json | wc -l)" "0" "$tag: no plaintext file is left"
	check_eq "$(grep -rl 'plain-secret-row' "backups/$id" | wc -l)" "0" "$tag: the data cannot be read in the backup"
	local k; k=$(tr -d '\n' < key)
	check_eq "$(grep -rl "$k" "backups" reports logs 2>/dev/null | wc -l)" "0" "$tag: the key is in no manifest, report or log"
	dbs --database "$url" backups verify "$id" --restore
	check_rc 0 "$tag: verify --restore opens it"
	sql "$url" "DELETE FROM t" >/dev/null
	dbs --database "$url" restore "$id" --yes
	check_rc 0 "$tag: restore opens it"
	check_eq "$(sql "$url" "SELECT v FROM t")" "plain-secret-row" "$tag: the round trip gives the rows back"
	check_eq "$(find "backups/$id" -name '.open-*' | wc -l)" "0" "$tag: nothing opened is left behind"
	if [ "$DRIVER" = postgres ]; then
		# the plain format streams too
		dbs --database "$url" --json backup --format plain
		check_rc 0 "$tag: an encrypted plain-format backup"
		local id2; id2=$(printf '%s' "$OUT" | jq -r .id)
		check_eq "$(printf '%s' "$OUT" | jq -r '[.files[] | "\(.path) \(.plain_path)"] | join(",")')" "db.sql.enc db.sql" \
			"$tag: plain: one sealed file"
		check_eq "$(grep -rl 'plain-secret-row' "backups/$id2" | wc -l)" "0" "$tag: plain: the data cannot be read in it"
		dbs --database "$url" backups verify "$id2" --restore
		check_rc 0 "$tag: plain: it restores"
		# pg_dump's directory format is files pg_dump writes itself: it
		# cannot be sealed on the way, so it is refused, not sealed after
		local before; before=$(ls backups | wc -l)
		dbs --database "$url" --json backup --format directory -j 2
		check_rc 2 "$tag: an encrypted directory-format backup: exit 2"
		check_eq "$(printf '%s' "$OUT" | jq -r .error.message)" \
			"a backup in the directory format cannot be encrypted on the way: not implemented" \
			"$tag: directory format: not implemented, said in the JSON"
		check_eq "$(ls -A backups | wc -l)" "$before" "$tag: directory format: nothing is left in backups"
	fi
	# the dump goes through the cipher as it comes: no plaintext dump file
	# is in any backup (nor removed from one: see seal_sink in backup.c)
	check_eq "$(find backups -name 'db.sqlite' -o -name 'db.dump' -o -name 'db.sql' | wc -l)" "0" \
		"$tag: no plaintext dump file in any backup"

	# a wrong key: named, and nothing restored
	sql "$url" "DELETE FROM t" >/dev/null
	cp key key.good
	openssl rand -hex 32 > key
	dbs --database "$url" restore "$id" --yes
	check_rc 1 "$tag: a wrong key fails the restore"
	check_contains "$ERR" "does not open with the key of backup_key_file" "$tag: it says the file does not open"
	check_contains "$ERR" "the key is not the one backup $id was encrypted with" "$tag: and that the key is wrong"
	check_eq "$(sql "$url" "SELECT count(*) FROM t")" "0" "$tag: nothing was restored"
	cp key.good key

	# a flipped byte: named, never restored
	local f; f=$(find "backups/$id" -name '*.enc' | head -n 1)
	flip_byte "$f" 200
	dbs --database "$url" backups verify "$id"
	check_rc 1 "$tag: a flipped byte fails verify"
	check_contains "$ERR" "does not match its checksum" "$tag: it names the file"
	dbs --database "$url" restore "$id" --yes
	check_rc 1 "$tag: and the restore"
	check_eq "$(sql "$url" "SELECT count(*) FROM t")" "0" "$tag: nothing was restored from it"
	cd "$WORK" || return
}

t_backup_retention() {
	project bkeep
	local url; url=$(newdb bkeep) tag="$DRIVER backup retention"
	printf -- '-- migrate:up\nCREATE TABLE t (id bigint PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n' > migrations/1_t.sql
	dbs --database "$url" migrate
	local a b c d
	dbs --database "$url" --json backup; a=$(printf '%s' "$OUT" | jq -r .id)
	dbs --database "$url" backups verify "$a"
	check_rc 0 "$tag: the first backup is verified"
	dbs --database "$url" --json backup; b=$(printf '%s' "$OUT" | jq -r .id)
	dbs --database "$url" --json backup; c=$(printf '%s' "$OUT" | jq -r .id)
	check_eq "$(ls backups | wc -l)" "3" "$tag: without backup_keep, every backup stays"
	printf '[dbshift]\nbackup_keep = 1\n' > dbshift.conf
	dbs --database "$url" --json backup
	check_rc 0 "$tag: a backup with backup_keep = 1"
	d=$(printf '%s' "$OUT" | jq -r .id)
	check_eq "$(ls backups | tr '\n' ' ')" "$a $d " "$tag: keeps the newest, and the newest verified one"
	check_eq "$(printf '%s' "$OUT" | jq -r '[.pruned[] | "\(.id) \(.why)"] | join(", ")')" \
		"$b beyond backup_keep, $c beyond backup_keep" "$tag: the backup says what it removed"
	check_contains "$(cat logs/dbshift.log)" "backup $b removed: beyond backup_keep" "$tag: the log says so"
	# backup_max_age: older than an hour goes, the newest verified stays
	touch -d '2 hours ago' "backups/$d"
	printf '[dbshift]\nbackup_max_age = 1h\n' > dbshift.conf
	dbs --database "$url" --json backup
	local e; e=$(printf '%s' "$OUT" | jq -r .id)
	check_eq "$(ls backups | tr '\n' ' ')" "$a $e " "$tag: backup_max_age removes the old one, not the verified one"
	printf '[dbshift]\nbackup_max_age = soon\n' > dbshift.conf
	dbs --database "$url" backup
	check_rc 2 "$tag: a bad backup_max_age is an input error"
	check_contains "$ERR" "dbshift.conf:2" "$tag: at its line"
	printf '[dbshift]\nbackup_keep = -1\n' > dbshift.conf
	dbs --database "$url" backup
	check_rc 2 "$tag: a bad backup_keep is an input error"
	cd "$WORK" || return
}

# A dump larger than any file dbshift reads whole (64 MB): checksummed in
# chunks, backed up and verified.
t_backup_large() {
	project blarge
	local url; url=$(newdb blarge) tag="$DRIVER backup of a large file"
	sql "$url" "CREATE TABLE big (id int PRIMARY KEY, v blob); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 70) INSERT INTO big SELECT x, randomblob(1048576) FROM c" >/dev/null
	dbs --database "$url" --json backup
	check_rc 0 "$tag: a 70 MB database is backed up"
	local id; id=$(printf '%s' "$OUT" | jq -r .id)
	check_eq "$(printf '%s' "$OUT" | jq -r '.files[0].size > 70000000')" "true" "$tag: its file is over 64 MB"
	check_eq "$(printf '%s' "$OUT" | jq -r '.files[0].sha256')" "$(sha256sum "backups/$id/$(printf '%s' "$OUT" | jq -r '.files[0].path')" | cut -d' ' -f1)" "$tag: with the right SHA-256"
	dbs --database "$url" backups verify "$id"
	check_rc 0 "$tag: and verified"
	cd "$WORK" || return
}
