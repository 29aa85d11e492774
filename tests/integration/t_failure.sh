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
  SELECT id FROM no_such_table;
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
	if [ "$DRIVER" = postgres ]; then
		check_eq "$first_line" 'dbshift: error: migrations/2_breaks.sql:5:18: relation "no_such_table" does not exist' "$tag: error names file:line:col and the server message"
	else
		# SQLite gives no position for this error: the statement's start
		check_eq "$first_line" 'dbshift: error: migrations/2_breaks.sql:4:1: no such table: no_such_table' "$tag: error names file:line:col and the server message"
	fi
	check_contains "$ERR" "STATEMENT: INSERT INTO second
  SELECT id FROM no_such_table" "$tag: error shows the statement"
	check_contains "$ERR" "dbshift: its transaction was rolled back: the database is as it was before that migration" "$tag: says the database is as it was"
	check_eq "$(table_exists "$url" second)" "0" "$tag: the failed migration's table is gone"
	check_eq "$(table_exists "$url" first)" "1" "$tag: the migration before it stays"
	check_eq "$(table_exists "$url" after)" "0" "$tag: nothing after the failure ran"
	check_eq "$(sql "$url" "SELECT version || ':' || status FROM dbshift_migrations")" "1:applied" "$tag: only the good migration is recorded"
	check_eq "$(sql "$url" "SELECT status FROM dbshift_runs")" "failed" "$tag: the run is recorded as failed"
	check_contains "$(cat logs/dbshift.log)" "2_breaks up: failed" "$tag: the log names the failed step"
	cd "$WORK" || return
}
