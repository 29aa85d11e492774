# t_failure.sh - a migration that fails in the middle leaves the database as
# it was: no table, no history row, and the error names file:line:col.

t_failure() {
	project failure
	cat > migrations/1_first.sql <<'SQL'
-- migrate:up
CREATE TABLE first (id bigint PRIMARY KEY);
-- migrate:down
DROP TABLE first;
SQL
	cat > migrations/2_breaks.sql <<'SQL'
-- migrate:up
CREATE TABLE second (id bigint PRIMARY KEY);
INSERT INTO second VALUES (1);
INSERT INTO second
  SELECT 1;
CREATE TABLE third (id bigint);
-- migrate:down
DROP TABLE second;
SQL
	cat > migrations/3_after.sql <<'SQL'
-- migrate:up
CREATE TABLE after (id bigint);
SQL
	local url; url=$(newdb failure) tag="$DRIVER failure"
	dbs --database "$url" migrate
	check_rc 1 "$tag: a failing migration exits 1"
	local first_line; first_line=$(echo "$ERR" | head -n 1)
	# a constraint has no position: the failing statement's start
	if [ "$DRIVER" = postgres ]; then
		check_eq "$first_line" 'dbshift: error: migrations/2_breaks.sql:4:1: duplicate key value violates unique constraint "second_pkey"' "$tag: error names file:line:col and the server message"
	else
		check_eq "$first_line" 'dbshift: error: migrations/2_breaks.sql:4:1: UNIQUE constraint failed: second.id' "$tag: error names file:line:col and the server message"
	fi
	check_contains "$ERR" "STATEMENT: INSERT INTO second
  SELECT 1" "$tag: error shows the statement"
	check_contains "$ERR" "dbshift: its transaction was rolled back: the database is as it was before that migration" "$tag: says the database is as it was"
	check_eq "$(table_exists "$url" second)" "0" "$tag: the failed migration's table is gone"
	check_eq "$(table_exists "$url" first)" "1" "$tag: the migration before it stays"
	check_eq "$(table_exists "$url" after)" "0" "$tag: nothing after the failure ran"
	check_eq "$(sql "$url" "SELECT version || ':' || status FROM dbshift_migrations")" "1:applied" "$tag: only the good migration is recorded"
	check_eq "$(sql "$url" "SELECT status FROM dbshift_runs")" "failed" "$tag: the run is recorded as failed"
	check_contains "$(cat logs/dbshift.log)" "2_breaks up: failed" "$tag: the log names the failed step"
	cd "$WORK" || return
}

# SQLite: a statement on a table that does not exist is found before
# anything runs, against a copy of the schema, in plan order.
t_sqlite_preflight() {
	project preflight
	local url; url=$(newdb preflight) tag="sqlite preflight"
	good_migration 1_first.sql first
	dbs --database "$url" migrate
	cat > migrations/2_breaks.sql <<'SQL'
-- dbshift:no-transaction
-- migrate:up
CREATE TABLE second (id bigint PRIMARY KEY);
INSERT INTO second SELECT id FROM first;
INSERT INTO second
  SELECT id FROM no_such_table;
SQL
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 2 "$tag: an unknown table is an input error"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: migrations/2_breaks.sql:5:1: no such table: no_such_table" "$tag: the error names file:line (SQLite gives no column here)"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing ran, not even the statements before it"
	printf -- '-- migrate:up\nSELECT 1 +;\n' > migrations/2_breaks.sql
	dbs --database "$url" migrate
	check_rc 2 "$tag: a syntax error is an input error"
	check_contains "$ERR" "migrations/2_breaks.sql:2:" "$tag: the syntax error names the line"
	check_eq "$(snapshot "$url")" "$before" "$tag: the syntax error changed nothing"
	printf -- '-- migrate:up\nCREATE TABLE late (id int);\n/* a comment that never ends\nDROP TABLE first;\n' > migrations/2_breaks.sql
	dbs --database "$url" migrate
	check_rc 2 "$tag: an unterminated comment is an input error"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: migrations/2_breaks.sql:3:1: unterminated /* comment" "$tag: the unterminated comment is named"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing was recorded as applied"
	cd "$WORK" || return
}
