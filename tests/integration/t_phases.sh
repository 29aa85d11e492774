# t_phases.sh - expand and contract: --phase expand leaves contract
# migrations for later; a contract migration never runs before the expand
# migrations it follows.

t_phases() {
	project phases
	local url; url=$(newdb phases) tag="$DRIVER phases"
	printf -- '-- dbshift:phase expand\n-- migrate:up\nCREATE TABLE people (id bigint PRIMARY KEY, name text, full_name text);\n' > migrations/1_add_full_name.sql
	printf -- '-- dbshift:phase contract\n-- migrate:up\nALTER TABLE people DROP COLUMN name;\n' > migrations/2_drop_name.sql
	printf -- '-- migrate:up\nCREATE TABLE pets (id bigint PRIMARY KEY);\n' > migrations/3_pets.sql

	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate --phase contract
	check_rc 3 "$tag: contract before its expand migration is refused"
	check_eq "$(echo "$ERR" | head -n 2)" "dbshift: error: contract migration 2_drop_name follows expand migration 1_add_full_name, which is not applied yet
HINT: run 'dbshift migrate --phase expand' and deploy the new code first" "$tag: refusal message"
	check_eq "$(snapshot "$url")" "$before" "$tag: refusal changed nothing"

	dbs --database "$url" --json migrate --phase expand
	check_rc 0 "$tag: --phase expand"
	check_eq "$(echo "$OUT" | jq -r '[.steps[].version] | join(",")')" "1,3" "$tag: expand and untagged migrations run, contract waits"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[] | "\(.version) \(.phase) \(.state) \(.out_of_order)"')" "1 expand applied false
2 contract pending false
3 null applied false" "$tag: status shows phases; a waiting contract migration is not out of order"
	dbs --database "$url" status
	check_contains "$OUT" "2_drop_name      contract  pending" "$tag: text status shows the phase"

	dbs --database "$url" --json migrate --phase contract
	check_rc 0 "$tag: --phase contract"
	check_eq "$(echo "$OUT" | jq -r '[.steps[].version] | join(",")')" "2" "$tag: only the contract migration runs"
	dbs --database "$url" migrate --phase sideways
	check_rc 2 "$tag: an unknown phase is a usage error"
	cd "$WORK" || return
}
