# t_one_pass.sh - each script is parsed once per run, whatever the plan
# does under the lock, and a transactional step on PostgreSQL goes as one
# pipeline that still names the failing statement and records its row.
# A script that mentions COPY is parsed twice on PostgreSQL: the driver's
# own split refuses COPY ... FROM stdin.

t_one_pass() {
	project one_pass
	local i
	for i in 1 2 3; do
		printf -- '-- migrate:up\nCREATE TABLE p_%d (id bigint PRIMARY KEY);\nINSERT INTO p_%d VALUES (1);\n-- migrate:down\nDROP TABLE p_%d;\n' \
			"$i" "$i" "$i" > "migrations/${i}_p$i.sql"
	done
	local url; url=$(newdb one_pass) tag="$DRIVER one pass"
	# once: the lint's analysis also gives PostgreSQL's driver its statements
	local want=1
	dbs --database "$url" -v migrate
	check_rc 0 "$tag: migrate exits 0"
	check_eq "$(echo "$OUT" | grep -v '^run ' | tail -n 2)" "migrate: 3 migrations
parsed 3 scripts, each at most $want time$([ "$want" = 1 ] || echo s)" "$tag: -v says how often a script was parsed"
	check_eq "$(echo "$OUT" | grep -c '^run [0-9TZ.-]*, report reports/[0-9TZ.-]*\.json$')" "1" \
		"$tag: the run's id and report printed"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied' AND duration_ms >= 0")" \
		"3" "$tag: every history row written with its duration"
	check_eq "$(sql "$url" "SELECT count(*) FROM p_3")" "1" "$tag: the statements ran"
	dbs --database "$url" -v rollback zero
	check_rc 0 "$tag: rollback zero exits 0"
	check_eq "$(echo "$OUT" | tail -n 1)" "parsed 3 scripts, each at most $want time$([ "$want" = 1 ] || echo s)" \
		"$tag: a down is parsed as often"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")" "0" \
		"$tag: every row forgotten with its down"
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate again exits 0"
	# a failure in the middle of a step: its transaction, row and all, is gone
	printf -- '-- migrate:up\nCREATE TABLE q_ok (id int PRIMARY KEY);\n\nINSERT INTO q_ok VALUES (1), (1);\nCREATE TABLE q_after (id int);\n-- migrate:down\nDROP TABLE q_ok;\n' \
		> migrations/4_fails.sql
	dbs --database "$url" migrate
	check_rc 1 "$tag: a failing step exits 1"
	check_contains "$ERR" "migrations/4_fails.sql:4:1: " "$tag: the failing statement's file:line:col"
	check_contains "$ERR" "STATEMENT: INSERT INTO q_ok VALUES (1), (1)" "$tag: and the statement"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE version = '4'")" "0" \
		"$tag: no history row for the failed step"
	check_eq "$(table_exists "$url" q_ok)" "0" "$tag: nor its table"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")" "3" \
		"$tag: the steps before it stay applied"
	[ "$DRIVER" = postgres ] || return 0
	# the server's position inside the statement survives the pipeline
	printf -- '-- migrate:up\nCREATE TABLE q_ok (id int);\n\nINSERT INTO q_missing VALUES (1);\n-- migrate:down\nDROP TABLE q_ok;\n' \
		> migrations/4_fails.sql
	dbs --database "$url" migrate
	check_rc 1 "$tag: an unknown table exits 1"
	check_contains "$ERR" 'migrations/4_fails.sql:4:13: relation "q_missing" does not exist' \
		"$tag: file:line:col of the server's position"
	# a deferred constraint fails at COMMIT, past the last statement
	printf -- '-- migrate:up\nCREATE TABLE d_parent (id int PRIMARY KEY);\nCREATE TABLE d_child (pid int REFERENCES d_parent DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO d_child VALUES (1);\n-- migrate:down\nDROP TABLE d_child, d_parent;\n' \
		> migrations/4_fails.sql
	dbs --database "$url" migrate
	check_rc 1 "$tag: a commit that fails exits 1"
	check_eq "$(echo "$ERR" | head -n 1)" 'dbshift: error: migrations/4_fails.sql: insert or update on table "d_child" violates foreign key constraint "d_child_pid_fkey"' \
		"$tag: and names the migration's file"
	check_eq "$(table_exists "$url" d_parent)$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE version = '4'")" \
		"00" "$tag: its tables and its history row are rolled back"
}

# Applied migrations are not analysed again: lint asks the database for
# the types of their columns, and says the same as when it read them.
t_lint_catalog() {
	project lint_catalog
	cat > migrations/1_users.sql <<'SQL'
-- migrate:up
CREATE TABLE users (id serial PRIMARY KEY, name varchar(40), price numeric(10,2), "Tag" text);
CREATE TABLE "Mixed" (code char(3));
-- migrate:down
DROP TABLE users;
DROP TABLE "Mixed";
SQL
	local url; url=$(newdb lint_catalog) tag="$DRIVER lint from the catalog"
	dbs --database "$url" migrate
	check_rc 0 "$tag: the first migration applies"
	cat > migrations/2_widen.sql <<'SQL'
-- migrate:up
ALTER TABLE users ALTER COLUMN name TYPE varchar(80);
ALTER TABLE users ALTER COLUMN id TYPE bigint;
ALTER TABLE users ALTER COLUMN price TYPE numeric(12,2);
ALTER TABLE "Mixed" ALTER COLUMN code TYPE char(3);
ALTER TABLE users ALTER COLUMN nope TYPE text;
-- migrate:down
SELECT 1;
SQL
	dbs --database "$url" -v lint --format json
	check_eq "$(echo "$OUT" | jq -r '.migrations[].statements[].findings[] | select(.rule | startswith("alter-column-type")) | .message')" \
		"users.name from varchar(40) to varchar(80) needs no rewrite, but takes an ACCESS EXCLUSIVE lock
users.id from int4 to int8 rewrites users and its indexes under an ACCESS EXCLUSIVE lock
users.price from numeric(10,2) to numeric(12,2) needs no rewrite, but takes an ACCESS EXCLUSIVE lock
Mixed.code from bpchar(3) to bpchar(3) needs no rewrite, but takes an ACCESS EXCLUSIVE lock
changing the type of users.nope to text rewrites the table unless it is binary-coercible (its current type is not in the migrations)" \
		"$tag: the applied columns' types come from the database"
	dbs --database "$url" -v migrate --dry-run
	check_contains "$OUT" "parsed 1 script, each at most 1 time" \
		"$tag: the applied migration is not parsed again"
}
