# t_policy.sh - drift, out-of-order and failed rows are refused with exit 3
# and change nothing until repair or an explicit --allow flag.

t_policy() {
	project policy
	local url; url=$(newdb policy) tag="$DRIVER policy"
	good_migration 10_ten.sql ten
	good_migration 30_thirty.sql thirty
	dbs --database "$url" migrate
	check_rc 0 "$tag: setup"

	# drift: an applied file changed
	printf -- '-- migrate:up\nCREATE TABLE ten (id bigint PRIMARY KEY, extra text);\n-- migrate:down\nDROP TABLE ten;\n' > migrations/10_ten.sql
	good_migration 40_forty.sql forty
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[] | "\(.version) \(.state)"')" "10 drifted
30 applied
40 pending" "$tag: status shows drifted"
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 3 "$tag: migrate refuses drift with exit 3"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: migration 10_ten was changed after it was applied" "$tag: drift message"
	check_eq "$(snapshot "$url")" "$before" "$tag: drift refusal changed nothing"
	dbs --database "$url" migrate --allow-drift
	check_rc 0 "$tag: --allow-drift runs"
	check_eq "$(table_exists "$url" forty)" "1" "$tag: --allow-drift applied the pending one"
	dbs --database "$url" repair
	check_rc 0 "$tag: repair accepts the new checksum"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '[.migrations[].state] | join(",")')" "applied,applied,applied" "$tag: no drift after repair"

	# out of order: a new file older than the newest applied
	good_migration 20_twenty.sql twenty
	before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 3 "$tag: out-of-order refused with exit 3"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: migration 20_twenty is older than the newest applied migration" "$tag: out-of-order message"
	check_eq "$(snapshot "$url")" "$before" "$tag: out-of-order refusal changed nothing"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[] | select(.version == "20") | "\(.state) \(.out_of_order)"')" "pending true" "$tag: status reports out of order"
	dbs --database "$url" migrate --allow-out-of-order
	check_rc 0 "$tag: --allow-out-of-order applies it"
	check_eq "$(table_exists "$url" twenty)" "1" "$tag: out-of-order table created"

	# missing: a row whose file is gone
	rm migrations/40_forty.sql
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[] | "\(.version) \(.state)"')" "10 applied
20 applied
30 applied
40 missing" "$tag: status shows missing"
	dbs --database "$url" rollback
	check_rc 2 "$tag: rolling back a missing file is an input error"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: cannot roll back 40_forty: its file is missing" "$tag: missing message"
	cd "$WORK" || return
}
