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
