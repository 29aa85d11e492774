# t_no_transaction.sh - a failed no-transaction migration is recorded
# "failed", blocks further runs (exit 3) with what to check, until repair.

t_no_transaction() {
	project notx
	local url; url=$(newdb notx) tag="$DRIVER no-transaction"
	cat > migrations/1_partial.sql <<'SQL'
-- dbshift:no-transaction
-- migrate:up
CREATE TABLE part_one (id bigint PRIMARY KEY);
INSERT INTO part_one VALUES (1), (1);
-- migrate:down
DROP TABLE part_one;
SQL
	good_migration 2_next.sql next
	dbs --database "$url" migrate
	check_rc 1 "$tag: failure exits 1"
	check_contains "$ERR" "HINT: it ran outside a transaction, so the statements before the failing one stay applied" "$tag: the hint says what to check"
	check_eq "$(table_exists "$url" part_one)" "1" "$tag: the statement before the failure stays"
	check_eq "$(sql "$url" "SELECT version || ':' || status FROM dbshift_migrations")" "1:failed" "$tag: recorded as failed"
	check_contains "$(sql "$url" "SELECT message FROM dbshift_migrations")" "failed at migrations/1_partial.sql:4:" "$tag: the row says where it failed"

	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 3 "$tag: a failed row blocks the next run"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: migration 1_partial failed earlier and blocks further runs" "$tag: blocking message"
	check_contains "$ERR" "then run 'dbshift repair'" "$tag: blocking hint names repair"
	check_eq "$(snapshot "$url")" "$before" "$tag: blocked run changed nothing"

	sql "$url" "DROP TABLE part_one" >/dev/null
	printf -- '-- dbshift:no-transaction\n-- migrate:up\nCREATE TABLE part_one (id bigint);\n-- migrate:down\nDROP TABLE part_one;\n' > migrations/1_partial.sql
	dbs --database "$url" repair
	check_rc 0 "$tag: repair exits 0"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")" "0" "$tag: repair cleared the failed row"
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate after repair"
	check_eq "$(sql "$url" "SELECT version || ':' || status FROM dbshift_migrations ORDER BY version")" "1:applied
2:applied" "$tag: both applied after repair"
	cd "$WORK" || return
}
