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

# SQLite on a database of many tables: the preflight copies only what the
# scripts can reach (and runs a new table only when a later statement
# names it), and refuses exactly what the copy of the whole schema refuses.
# A plan that names sqlite_master is checked against the whole copy, so
# each case runs both ways and the answers must be equal, and as written.
t_sqlite_preflight_many() {
	project preflight_many
	local tag="sqlite preflight, many tables" base="$WORK/preflight_many.db"
	{
		cat <<'SQL'
CREATE TABLE a (id integer PRIMARY KEY, c int, email text, u int UNIQUE);
CREATE INDEX a_c ON a (c);
CREATE UNIQUE INDEX a_email ON a (email);
CREATE TABLE log (id integer PRIMARY KEY AUTOINCREMENT, a_id int, what text);
CREATE TRIGGER a_log AFTER INSERT ON a BEGIN INSERT INTO log (a_id, what) VALUES (new.id, 'insert'); END;
CREATE VIEW v AS SELECT id, c FROM a;
CREATE TABLE child (id integer PRIMARY KEY, a_id int REFERENCES a (id));
CREATE VIEW broken AS SELECT * FROM gone;
CREATE TABLE t (x int);
SQL
		for i in $(seq 1 400); do
			echo "CREATE TABLE f_$i (id integer PRIMARY KEY, v text); CREATE INDEX f_${i}_v ON f_$i (v);"
		done
	} | sqlite3 "$base"
	# pcase NAME EXPECTED SCRIPT...: the scripts as migrations 1, 2...;
	# EXPECTED is "ok" or the end of the error's first line
	pcase() {
		local name=$1 want=$2 i=1 one two
		shift 2
		rm -rf migrations && mkdir migrations
		for s in "$@"; do
			printf -- '-- migrate:up\n%s\n' "$s" > "migrations/${i}_step.sql"
			i=$((i + 1))
		done
		cp "$base" part.db
		dbs --database sqlite:part.db migrate
		one="$RC $(echo "$ERR" | head -n 1)"
		printf -- '-- migrate:up\nSELECT count(*) FROM sqlite_master;\n' > migrations/0_whole.sql
		cp "$base" whole.db
		dbs --database sqlite:whole.db migrate
		two="$RC $(echo "$ERR" | head -n 1)"
		check_eq "$one" "$two" "$tag: $name: the partial copy answers as the whole copy"
		if [ "$want" = ok ]; then
			check_eq "$one" "0 " "$tag: $name: passes"
		else
			check_eq "${one%%: error: *}" "2 dbshift" "$tag: $name: refused as an input error"
			check_eq "${one:$((${#one} - ${#want} - 2))}" ": $want" "$tag: $name: the error"
			check_eq "$(snapshot sqlite:part.db)" "$(snapshot "sqlite:$base")" "$tag: $name: nothing ran"
		fi
	}
	pcase "an upsert on a unique index of the database" ok \
		"INSERT INTO a (id, email) VALUES (1, 'x') ON CONFLICT (email) DO NOTHING;"
	pcase "an upsert on no unique index" \
		"ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint" \
		"INSERT INTO a (id, c) VALUES (1, 2) ON CONFLICT (c) DO NOTHING;"
	pcase "an insert whose trigger's table is gone" "no such table: main.log" \
		"DROP TABLE log;" "INSERT INTO a (id) VALUES (1);"
	pcase "a view's column that is not there" "no such column: nosuch" "SELECT nosuch FROM v;"
	pcase "a table of the database made again (case folded)" "table F_7 already exists" \
		"CREATE TABLE F_7 (id int);"
	pcase "an index of the database made again" "index a_c already exists" \
		"CREATE INDEX a_c ON t (x);"
	pcase "an index on a column of a big table that is not there" "no such column: nosuch" \
		"CREATE TABLE n1 (id int);" "CREATE TABLE n2 (id int);" "CREATE INDEX n2_id ON n2 (id);" \
		"INSERT INTO f_3 (v) VALUES ('x');" "CREATE INDEX f_3_nosuch ON f_3 (nosuch);"
	pcase "a new table's column that is not there" "table n1 has no column named nosuch" \
		"CREATE TABLE n1 (id integer PRIMARY KEY, x int);" "CREATE INDEX n1_x ON n1 (x);" \
		"INSERT INTO n1 (nosuch) VALUES (1);"
	pcase "a new table made twice" "table n1 already exists" \
		"CREATE TABLE n1 (id int);" "CREATE TABLE n3 (id int);" "CREATE TABLE n1 (id int);"
	pcase "a new table dropped" "no such table: n1" \
		"CREATE TABLE n1 (id int); DROP TABLE n1;" "SELECT * FROM n1;"
	pcase "a view made in the plan whose table is dropped" "no such table: main.t" \
		"CREATE VIEW w AS SELECT * FROM t; DROP TABLE t;" "SELECT * FROM w;"
	pcase "a rename that the database's broken view stops" "table t has no column named y" \
		"ALTER TABLE t RENAME COLUMN x TO y;" "INSERT INTO t (y) VALUES (1);"
	pcase "a rename that rewrites a view" ok \
		"DROP VIEW broken; ALTER TABLE a RENAME COLUMN c TO c2;" "SELECT c2 FROM v;"
	pcase "a new table altered" ok \
		"CREATE TABLE p (id int); ALTER TABLE p ADD COLUMN q int;" "INSERT INTO p (q) VALUES (1);"
	pcase "a new trigger whose table is dropped" "no such table: main.s2" \
		"CREATE TABLE s1 (id int); CREATE TABLE s2 (id int);
CREATE TRIGGER s1_t AFTER INSERT ON s1 BEGIN INSERT INTO s2 (id) VALUES (new.id); END;" \
		"DROP TABLE s2;" "INSERT INTO s1 (id) VALUES (1);"
	pcase "quoted names, any case" "no such column: nosuch" \
		"INSERT INTO \"LOG\" ([what]) VALUES ('x');" "SELECT [nosuch] FROM \"A\";"
	pcase "a foreign key's parent" ok "INSERT INTO child (a_id) VALUES (1);"
	pcase "an index made in the plan, then used by an upsert" ok \
		"CREATE TABLE k (id int, e text);" "CREATE UNIQUE INDEX k_e ON k (e);" \
		"INSERT INTO k (e) VALUES ('x') ON CONFLICT (e) DO NOTHING;"
	unset -f pcase
	cd "$WORK" || return
}
