# t_risk.sh - migrate compares the plan's worst finding with the
# environment's max_risk: above it, exit 3 listing the findings, nothing
# changed; --force runs and the report records the decision.

t_risk() {
	project risk
	local url; url=$(newdb risk) tag="$DRIVER risk"
	good_migration 1_items.sql items
	printf '[dbshift]\nmax_risk = red\n\n[env "production"]\nmax_risk = yellow\n' > dbshift.conf
	dbs --database "$url" migrate
	check_rc 0 "$tag: setup"
	printf -- '-- migrate:up\nDELETE FROM items;\n-- migrate:down\n' > migrations/2_purge.sql
	local before; before=$(snapshot "$url")
	dbs --database "$url" --env production migrate
	check_rc 3 "$tag: red above max_risk yellow exits 3"
	check_eq "$(echo "$ERR" | head -n 3)" "dbshift: error: the plan's risk is red, above max_risk yellow of environment production
DETAIL: migrations/2_purge.sql:2:1 [dml-without-where] DELETE without WHERE changes every row of items$([ "$DRIVER" = postgres ] && echo " in one transaction, locking them all")
HINT: make the migrations safer ('dbshift lint' says how), allow a reviewed finding with '-- dbshift:allow RULE reason', or run with --force" "$tag: the refusal lists the findings"
	check_eq "$(snapshot "$url")" "$before" "$tag: the refusal changed nothing"
	dbs --database "$url" --env production plan
	check_rc 3 "$tag: plan says migrate would be refused"
	dbs --database "$url" migrate
	check_rc 0 "$tag: max_risk red lets it run"
	check_eq "$ERR" "dbshift: warning: migrations/2_purge.sql:2:1 [dml-without-where] DELETE without WHERE changes every row of items$([ "$DRIVER" = postgres ] && echo " in one transaction, locking them all")
dbshift: warning: risk: high (worst finding red): split it into expand and contract migrations, take a backup first, and run it in a maintenance window" "$tag: the red finding it applied is a warning, with the verdict"
	dbs --database "$url" rollback
	check_rc 3 "$tag: its empty down is irreversible"
	dbs --database "$url" rollback --allow-irreversible
	check_rc 0 "$tag: --allow-irreversible forgets it"
	dbs --database "$url" --env production --json migrate --force
	check_rc 0 "$tag: --force runs above max_risk"
	check_eq "$(echo "$OUT" | jq -c '.risk')" '{"worst":"red","score":4,"band":"high","max_risk":"yellow","forced":true}' "$tag: the report records the forced decision"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_runs WHERE CAST(report AS text) LIKE '%\"forced\": true%'")" "1" "$tag: and so does dbshift_runs"
	cd "$WORK" || return
}

# Rollback has the same guard rails: its downs are analysed and held
# against max_risk (a DROP TABLE there is red), require_backup takes and
# verifies a backup first, and --force runs past the gate.
t_rollback_guard() {
	project rollguard
	local url; url=$(newdb rollguard) tag="$DRIVER rollback guard"
	good_migration 1_items.sql items
	printf '[dbshift]\nbackup_dir = %s/rollguard-backups\n\n[env "production"]\nmax_risk = yellow\nrequire_backup = true\n' "$WORK" > dbshift.conf
	rm -rf "$WORK/rollguard-backups"
	dbs --database "$url" migrate
	check_rc 0 "$tag: setup"
	sql "$url" "INSERT INTO items VALUES (1)" >/dev/null
	local before; before=$(snapshot "$url")
	dbs --database "$url" --env production rollback zero
	check_rc 3 "$tag: a DROP TABLE in the down is above max_risk yellow: exit 3"
	check_eq "$ERR" "dbshift: error: the plan's risk is red, above max_risk yellow of environment production
DETAIL: migrations/1_items.sql:4:1 [drop-object] DROP TABLE items deletes it and its data for good, and breaks code still using it
HINT: the down would lose what it drops: take a backup ('dbshift backup') and restore it instead ('dbshift rollback --from-backup ID'), or, reviewed, run with --force" "$tag: the refusal names the down's finding"
	check_eq "$(snapshot "$url")" "$before" "$tag: the refusal changed nothing"
	check_eq "$(sql "$url" "SELECT count(*) FROM items")" "1" "$tag: the rows are still there"
	check_eq "$(ls "$WORK/rollguard-backups" 2>/dev/null | wc -l)" "0" "$tag: no backup for a refused rollback"
	dbs --database "$url" --env production rollback --dry-run
	check_rc 3 "$tag: the dry run says it would be refused"
	check_eq "$(echo "$OUT" | head -n 1)" "down 1_items (score 3, red)" "$tag: the dry run shows the down's risk"
	check_eq "$(echo "$OUT" | sed -n 2p | grep -o '4:1 red    DROP TABLE.*\[drop-object\]' | cut -c1-22)" "4:1 red    DROP TABLE," "$tag: and its finding"
	dbs --database "$url" --env production --json rollback zero --force
	check_rc 0 "$tag: --force runs past the gate"
	check_eq "$(echo "$OUT" | jq -c '.risk')" '{"worst":"red","score":3,"band":"high","max_risk":"yellow","forced":true}' "$tag: the report records the forced decision"
	check_eq "$(ls "$WORK/rollguard-backups" | wc -l)" "1" "$tag: require_backup took a backup first"
	local id; id=$(ls "$WORK/rollguard-backups")
	dbs --database "$url" backups verify "$id"
	check_rc 0 "$tag: the backup it took verifies"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")" "0" "$tag: the migration is rolled back"
	dbs --database "$url" migrate
	: > "$WORK/rollguard-file"
	printf '[dbshift]\nbackup_dir = %s/rollguard-file/sub\nrequire_backup = true\n' "$WORK" > dbshift.conf
	before=$(snapshot "$url")
	dbs --database "$url" rollback --force
	check_rc 3 "$tag: no backup to be had: the rollback is refused"
	check_eq "$(echo "$ERR" | head -n 1 | sed "s/'.*'/'DIR'/")" "dbshift: error: no verified backup, so nothing was run: cannot create backup directory 'DIR': Not a directory" "$tag: it says why"
	check_eq "$(snapshot "$url")" "$before" "$tag: and changed nothing"
	rm -f "$WORK/rollguard-file"
	cd "$WORK" || return
}
