# t_verify.sh - verify passes on a clean schema and finds each planted
# problem; prune keeps the right backups; rollback --from-backup.

t_verify() {
	project verify
	local url; url=$(newdb verify) tag="$DRIVER verify"
	printf -- '-- migrate:up\nCREATE TABLE owners (id bigint PRIMARY KEY);\nCREATE TABLE pets (id bigint PRIMARY KEY, owner_id bigint REFERENCES owners (id));\nCREATE INDEX pets_owner ON pets (owner_id);\n' > migrations/1_pets.sql
	dbs --database "$url" migrate
	dbs --database "$url" verify
	check_rc 0 "$tag: a clean schema passes"
	check_eq "$(echo "$OUT" | tail -n 1)" "verify: 0 of 9 checks failed" "$tag: every check passes"

	printf -- '-- migrate:up\nCREATE TABLE logs (line text);\nCREATE TABLE toys (id bigint PRIMARY KEY, pet_id bigint REFERENCES pets (id));\n' > migrations/2_problems.sql
	dbs --database "$url" verify
	check_rc 1 "$tag: a pending migration fails verify"
	check_contains "$OUT" "FAIL  nothing pending: 2_problems" "$tag: names it"
	dbs --database "$url" migrate
	if [ "$DRIVER" = postgres ]; then
		sql "$url" "CREATE TABLE seqs (id serial PRIMARY KEY); INSERT INTO seqs VALUES (100)" >/dev/null
		sql "$url" "ALTER TABLE owners ADD CONSTRAINT owners_positive CHECK (id > 0) NOT VALID" >/dev/null
		sql "$url" "INSERT INTO owners VALUES (1), (1)" >/dev/null 2>&1
		sql "$url" "CREATE TABLE dup (v int PRIMARY KEY); ALTER TABLE dup DROP CONSTRAINT dup_pkey; INSERT INTO dup VALUES (1), (1); ALTER TABLE dup ADD COLUMN id serial PRIMARY KEY" >/dev/null
		sql "$url" "CREATE UNIQUE INDEX CONCURRENTLY dup_v ON dup (v)" >/dev/null 2>&1
	fi
	dbs --database "$url" --json verify
	check_rc 1 "$tag: planted problems fail verify"
	local got; got=$(echo "$OUT" | jq -r '.checks[] | select(.status == "fail") | "\(.check): \(.objects | join(", "))"')
	if [ "$DRIVER" = postgres ]; then
		check_eq "$got" "no-primary-key: public.logs
fk-without-index: toys (toys_pet_id_fkey)
invalid-index: dup_v
not-valid-constraint: owners (owners_positive)
sequence-behind: seqs_id_seq (for seqs.id)" "$tag: each planted problem is found and named"
	else
		check_eq "$got" "no-primary-key: logs
fk-without-index: toys (pet_id)" "$tag: each planted problem is found and named"
	fi

	# a schema snapshot, then a change made behind the migrations' back
	dbs --database "$url" schema dump snapshot.sql
	check_rc 0 "$tag: schema dump"
	dbs --database "$url" verify --schema snapshot.sql
	check_contains "$OUT" "pass  the schema matches the snapshot" "$tag: the live schema matches its snapshot"
	sql "$url" "ALTER TABLE owners ADD COLUMN nickname text" >/dev/null
	dbs --database "$url" verify --schema snapshot.sql
	check_rc 1 "$tag: a changed schema fails verify"
	check_contains "$OUT" "FAIL  the schema matches the snapshot: snapshot.sql
--- snapshot.sql
+++ live schema" "$tag: with a unified diff"
	check_contains "$OUT" "nickname" "$tag: that shows the change"
	dbs --database "$url" verify --schema nosuch.sql
	check_rc 2 "$tag: a missing snapshot is an input error"

	# --compare: another database restored from a backup of this one
	local other; other=$(newdb verify_copy)
	sql "$url" "INSERT INTO owners (id) VALUES (2); INSERT INTO pets (id, owner_id) VALUES (1, 2)" >/dev/null
	dbs --database "$url" --json backup
	local id; id=$(echo "$OUT" | jq -r .id)
	dbs --database "$url" restore "$id" --target "$other" --yes
	check_rc 0 "$tag: restore --target another database"
	dbs --database "$url" --json verify --compare "$other"
	check_eq "$(echo "$OUT" | jq -r '.checks[] | select(.check == "compare") | .status')" "pass" "$tag: the copy compares equal"
	sql "$other" "UPDATE pets SET owner_id = NULL" >/dev/null
	dbs --database "$url" --json verify --compare "$other"
	check_eq "$(echo "$OUT" | jq -r '.checks[] | select(.check == "compare") | .objects | join("; ")')" "$([ "$DRIVER" = postgres ] && echo "public.pets: sampled rows differ" || echo "pets: sampled rows differ")" "$tag: changed rows are found"
	cd "$WORK" || return
}

t_prune() {
	project prune
	local url; url=$(newdb prune) tag="$DRIVER prune"
	good_migration 1_one.sql one
	dbs --database "$url" migrate
	local ids=() i
	for i in 1 2 3 4; do
		dbs --database "$url" --json backup
		ids+=("$(echo "$OUT" | jq -r .id)")
	done
	dbs --database "$url" backups verify "${ids[0]}"
	dbs --database "$url" backups prune --keep 2 --dry-run
	check_eq "$OUT" "would remove ${ids[1]} (beyond --keep)
1 of 4 backups would be removed" "$tag: --dry-run says what would go, keeping the newest verified"
	check_eq "$(ls backups | wc -l)" "4" "$tag: --dry-run removes nothing"
	dbs --database "$url" backups prune --keep 2
	check_eq "$(ls backups | tr '\n' ' ')" "${ids[0]} ${ids[2]} ${ids[3]} " "$tag: prune keeps the newest two and the newest verified"

	# rollback --from-backup
	printf -- '-- migrate:up\nCREATE TABLE two (id int PRIMARY KEY);\n' > migrations/2_two.sql
	dbs --database "$url" migrate
	dbs --database "$url" rollback --from-backup "${ids[3]}" --yes
	check_rc 0 "$tag: rollback --from-backup"
	check_eq "$(table_exists "$url" two)" "0" "$tag: the database is the backup's again"
	check_eq "$(sql "$url" "SELECT version FROM dbshift_migrations")" "1" "$tag: so is its history"
	cd "$WORK" || return
}
