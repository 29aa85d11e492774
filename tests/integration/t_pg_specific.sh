# t_pg_specific.sh - PostgreSQL only: dollar-quoted bodies stay whole, and a
# no-transaction CREATE INDEX CONCURRENTLY does not deadlock with our lock.

t_pg_specific() {
	project pgspec
	local url; url=$(newdb pgspec) tag="postgres specific"
	cat > migrations/1_function.sql <<'SQL'
-- migrate:up
CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL);
CREATE FUNCTION add_one(i int) RETURNS int AS $$
BEGIN
    -- a ';' inside the body must not split the statement;
    RETURN i + 1;
END;
$$ LANGUAGE plpgsql;
INSERT INTO items SELECT g, 'item ' || add_one(g) FROM generate_series(1, 1000) g;
-- migrate:down
DROP FUNCTION add_one(int);
DROP TABLE items;
SQL
	cat > migrations/2_index.sql <<'SQL'
-- dbshift:no-transaction
-- migrate:up
CREATE INDEX CONCURRENTLY items_title_idx ON items (title);
-- migrate:down
DROP INDEX CONCURRENTLY items_title_idx;
SQL
	OUT=$(timeout 60 "$DBSHIFT" --database "$url" migrate 2>&1)
	RC=$?
	check_rc 0 "$tag: dollar-quoted function and CREATE INDEX CONCURRENTLY apply (no deadlock)"
	check_eq "$(sql "$url" "SELECT add_one(41)")" "42" "$tag: the function body arrived whole"
	check_eq "$(sql "$url" "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_title_idx'::regclass")" "t" "$tag: the concurrent index is valid"
	OUT=$(timeout 60 "$DBSHIFT" --database "$url" rollback 2>&1)
	RC=$?
	check_rc 0 "$tag: DROP INDEX CONCURRENTLY rolls back"
	check_eq "$(sql "$url" "SELECT count(*) FROM pg_class WHERE relname = 'items_title_idx'")" "0" "$tag: index dropped"

	# CONCURRENTLY in a transactional migration: the server's own error, exit 1
	printf -- '-- migrate:up\nCREATE INDEX CONCURRENTLY items_id_title ON items (id, title);\n' > migrations/3_tx_index.sql
	rm migrations/2_index.sql
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 2 "$tag: CONCURRENTLY in a transactional migration is an input error"
	check_eq "$(echo "$ERR" | head -n 2)" "dbshift: error: migrations/3_tx_index.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction, and this migration's up runs in one
HINT: add '-- dbshift:no-transaction' to the migration's header (dbmate: '-- migrate:up transaction:false', goose: '-- +goose NO TRANSACTION'); it then runs statement by statement" "$tag: and says what to add"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	cd "$WORK" || return
}
