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

# The history row's statements are prepared once on the session; a
# migration that drops the session's prepared statements (DEALLOCATE,
# DISCARD) is followed by new ones, never by a missing one.
t_pg_prepared() {
	project pgprep
	local url; url=$(newdb pgprep) tag="postgres prepared history"
	printf -- '-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n' > migrations/1_a.sql
	printf -- '-- migrate:up\nCREATE TABLE seen AS SELECT name, statement FROM pg_prepared_statements;\n-- migrate:down\nDROP TABLE seen;\n' > migrations/2_seen.sql
	printf -- '-- migrate:up\nDEALLOCATE ALL;\nCREATE TABLE b (id int);\n-- migrate:down\nDEALLOCATE ALL;\nDROP TABLE b;\n' > migrations/3_dealloc.sql
	printf -- '-- migrate:up\nCREATE TABLE c (id int);\n-- migrate:down\nDROP TABLE c;\n' > migrations/4_c.sql
	printf -- '-- dbshift:no-transaction\n-- migrate:up\ndeallocate all;\nCREATE TABLE d (id int);\n-- migrate:down\nDeallocate All;\nDROP TABLE d;\n' > migrations/5_notx.sql
	printf -- '-- migrate:up\nCREATE TABLE e (id int);\n-- migrate:down\nDROP TABLE e;\n' > migrations/6_e.sql
	dbs --database "$url" migrate
	check_rc 0 "$tag: every migration applies, those that deallocate and those after them"
	check_eq "$(sql "$url" "SELECT string_agg(version || ':' || status, ' ' ORDER BY version) FROM dbshift_migrations")" \
		"1:applied 2:applied 3:applied 4:applied 5:applied 6:applied" "$tag: each with its history row"
	check_eq "$(sql "$url" "SELECT name ~ '^dbshift_[0-9]+\$' AND statement LIKE 'INSERT INTO dbshift_migrations %' FROM seen")" \
		"t" "$tag: the history row is written by a statement prepared once on the session"
	dbs --database "$url" rollback zero
	check_rc 0 "$tag: rollback zero undoes them all"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")/$(sql "$url" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('a', 'b', 'c', 'd', 'e', 'seen')")" \
		"0/0" "$tag: no history row and no table left"
	cd "$WORK" || return
}
