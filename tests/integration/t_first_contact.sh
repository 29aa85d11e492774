# t_first_contact.sh - what real repositories hold as they are, found by
# running dbshift on them (bench/real-histories.sh): another tool's empty
# history table, popx's dialect names as pop normalizes them, golang-migrate
# files that manage their own transaction, goose's lowercase annotations,
# and what dbshift cannot run (fizz, goose Go migrations, Flyway repeatables
# and callbacks) refused by name, never skipped.

# an empty history table of another tool: nothing applied
t_first_contact_empty_history() {
	local tag="$DRIVER empty foreign history" url
	for tool in diesel golang-migrate golang-migrate-null; do
		project "fc_empty_$tool"
		printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n' \
			> migrations/1_a.sql
		url=$(newdb "fc_empty_${tool//-/_}")
		case $tool in
		diesel) sql "$url" "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)" >/dev/null ;;
		golang-migrate) sql "$url" "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (-1, false)" >/dev/null ;;
		*) sql "$url" "CREATE TABLE schema_migrations (version bigint, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (NULL, false)" >/dev/null ;;
		esac
		local table=schema_migrations name=${tool%-null}
		[ "$tool" = diesel ] && table=__diesel_schema_migrations
		dbs --database "$url" status
		check_rc 0 "$tag ($tool): status exits 0"
		check_contains "$ERR" "$name's history table ($table) records no migration: taken as nothing applied" \
			"$tag ($tool): status says the table records nothing"
		check_lacks "$ERR" "none of dbshift's" "$tag ($tool): not taken as a history"
		dbs --database "$url" adopt
		check_eq "$OUT" "$name's history in $table records no migration: nothing was applied, and 'dbshift migrate' applies them all" \
			"$tag ($tool): adopt says there is nothing to take over"
		dbs --database "$url" adopt --yes
		check_rc 0 "$tag ($tool): adopt --yes exits 0"
		check_contains "$OUT" "nothing to adopt" "$tag ($tool): adopt --yes: nothing to adopt (not 'adopted')"
		dbs --database "$url" migrate
		check_rc 0 "$tag ($tool): migrate goes ahead"
		check_eq "$(echo "$ERR" | grep -c 'records no migration')" "1" "$tag ($tool): migrate says so once"
		check_eq "$(sql "$url" "SELECT version || ' ' || status FROM dbshift_migrations")" "1 applied" \
			"$tag ($tool): the migration is applied and recorded"
		cd "$WORK" || return
	done
	# a table that does record something is still refused
	project fc_full_diesel
	printf -- '-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n' > migrations/1_a.sql
	url=$(newdb fc_full_diesel)
	sql "$url" "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP); INSERT INTO __diesel_schema_migrations (version) VALUES ('1')" >/dev/null
	dbs --database "$url" migrate
	check_rc 3 "$tag: a diesel table with a row still refuses migrate"
	check_contains "$ERR" "this database has diesel's history (__diesel_schema_migrations) and none of dbshift's" \
		"$tag: and says why"
	cd "$WORK" || return
}

# popx: pop's dialect synonyms; fizz refused by name
t_first_contact_popx() {
	local tag="$DRIVER popx dialects" url
	project fc_popx
	local d=migrations
	printf 'CREATE TABLE t_any (id int);\n' > $d/20230705000000000001_t.up.sql
	printf 'CREATE TABLE t_sqlite (id int);\n' > $d/20230705000000000001_t.sqlite.up.sql
	printf 'CREATE TABLE t_mysql (id int);\n' > $d/20230705000000000001_t.mysql.up.sql
	printf 'CREATE TABLE t_crdb (id int);\n' > $d/20230705000000000001_t.cockroach.up.sql
	printf 'DROP TABLE t_any;\n' > $d/20230705000000000001_t.down.sql
	printf 'DROP TABLE t_sqlite;\n' > $d/20230705000000000001_t.sqlite.down.sql
	printf 'CREATE TABLE u_pg (id int);\n' > $d/20230705000000000002_u.pg.up.sql
	printf 'CREATE TABLE u_sqlite (id int);\n' > $d/20230705000000000002_u.sqlite3.up.sql
	printf 'CREATE TABLE u_maria (id int);\n' > $d/20230705000000000002_u.mariadb.up.sql
	printf 'CREATE TABLE u_crdb (id int);\n' > $d/20230705000000000002_u.crdb.up.sql
	printf 'DROP TABLE u_pg;\n' > $d/20230705000000000002_u.postgresql.down.sql
	printf 'DROP TABLE u_sqlite;\n' > $d/20230705000000000002_u.sqlite3.down.sql
	url=$(newdb fc_popx)
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate exits 0 (no 'duplicate version')"
	if [ "$DRIVER" = sqlite ]; then
		check_eq "$(table_exists "$url" t_sqlite)$(table_exists "$url" t_any)$(table_exists "$url" u_sqlite)" "101" \
			"$tag: .sqlite is pop's sqlite3: its file wins over the dialect-less one"
	else
		check_eq "$(table_exists "$url" t_any)$(table_exists "$url" t_sqlite)$(table_exists "$url" u_pg)" "101" \
			"$tag: .pg is pop's postgres; sqlite, mysql and cockroach files are left alone"
	fi
	check_eq "$(table_exists "$url" t_mysql)$(table_exists "$url" t_crdb)$(table_exists "$url" u_maria)$(table_exists "$url" u_crdb)" \
		"0000" "$tag: mariadb, crdb and cockroach files run nowhere here"
	dbs --database "$url" rollback zero
	check_rc 0 "$tag: rollback zero exits 0"
	check_eq "$(table_exists "$url" t_any)$(table_exists "$url" t_sqlite)" "00" "$tag: the dialect's down ran"

	# dbshift new there writes popx's 20 digits
	dbs new add_more
	check_rc 0 "$tag: new exits 0"
	local made; made=$(ls $d | grep add_more | sort | tr '\n' ' ')
	if [[ "$made" =~ ^[0-9]{14}000000_add_more\.down\.sql\ [0-9]{14}000000_add_more\.up\.sql\ $ ]]; then
		ok "$tag: new writes the directory's 20-digit version ($made)"
	else
		not_ok "$tag: new writes the directory's 20-digit version" "got: $made"
	fi

	# a fizz migration is refused by name, never skipped
	printf 'create_table("x") {}\n' > $d/20230705000000000003_x.up.fizz
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 2 "$tag: a .fizz migration: exit 2"
	check_contains "$ERR" "dbshift: error: $d/20230705000000000003_x.up.fizz: popx fizz migrations are not implemented" \
		"$tag: fizz is 'not implemented', naming the file"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed after the fizz refusal"
	cd "$WORK" || return
}

# golang-migrate wraps nothing: a file with its own BEGIN/COMMIT runs as written
t_first_contact_golang_tx() {
	local tag="$DRIVER golang-migrate own transaction" url
	project fc_golang_tx
	local d=migrations
	printf 'CREATE TABLE a (id int PRIMARY KEY);\n' > $d/1_a.up.sql
	printf 'DROP TABLE a;\n' > $d/1_a.down.sql
	printf 'BEGIN;\nCREATE TABLE b (id int PRIMARY KEY);\nINSERT INTO b VALUES (1);\nCOMMIT;\n' > $d/2_b.up.sql
	printf 'BEGIN;\nDROP TABLE b;\nCOMMIT;\n' > $d/2_b.down.sql
	printf -- '-- a savepoint is no transaction of its own\nCREATE TABLE c (id int);\nSAVEPOINT s;\nROLLBACK TO SAVEPOINT s;\n' > $d/3_c.up.sql
	printf 'DROP TABLE c;\n' > $d/3_c.down.sql
	url=$(newdb fc_golang_tx)
	dbs --database "$url" plan
	check_rc 0 "$tag: plan exits 0"
	check_contains "$OUT" "up   2_b (its own transaction)" "$tag: plan says the file runs its own transaction"
	check_lacks "$OUT" "up   1_a (no" "$tag: a plain file still runs in dbshift's"
	check_eq "$(echo "$OUT" | grep -A1 'TRANSACTION \[transaction-control\]' | grep -c 'BEGIN\|COMMIT')" "0" \
		"$tag: lint does not flag the BEGIN and COMMIT of a file that runs as written"
	check_lacks "$OUT" "up   3_c (its own" "$tag: savepoints are no transaction control"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[] | "\(.version) \(.no_transaction) \(.own_transaction)"')" "1 false null
2 true both
3 false null" "$tag: status --json says which runs as written"
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate exits 0 (no 'transaction control' refusal)"
	check_eq "$(sql "$url" "SELECT id FROM b")" "1" "$tag: its statements ran"
	check_eq "$(sql "$url" "SELECT version || ' ' || status FROM dbshift_migrations ORDER BY version")" "1 applied
2 applied
3 applied" "$tag: its history row is written after it"
	dbs --database "$url" rollback zero
	check_rc 0 "$tag: rollback zero runs the down as written"
	check_eq "$(table_exists "$url" b)" "0" "$tag: b is gone"

	# other layouts keep the refusal
	project fc_dbmate_tx
	printf -- '-- migrate:up\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n' > migrations/1_b.sql
	url=$(newdb fc_dbmate_tx)
	dbs --database "$url" migrate
	check_rc 2 "$tag: in dbmate's layout, still exit 2"
	check_contains "$ERR" "migrations/1_b.sql:2:1: transaction control (BEGIN) in a migration that runs in a transaction" \
		"$tag: dbmate's layout: still refused at the line"
	check_eq "$(table_exists "$url" b)" "0" "$tag: dbmate's layout: nothing ran"
	cd "$WORK" || return
}

# golang-migrate: CREATE INDEX CONCURRENTLY alone in a file, as golang-migrate runs it
t_first_contact_golang_cic() {
	local tag="$DRIVER golang-migrate concurrently" url
	project fc_golang_cic
	printf 'CREATE TABLE a (id int PRIMARY KEY, v int);\n' > migrations/1_a.up.sql
	printf 'CREATE INDEX CONCURRENTLY a_v ON a (v);\n' > migrations/2_a_v.up.sql
	printf 'DROP INDEX CONCURRENTLY a_v;\n' > migrations/2_a_v.down.sql
	url=$(newdb fc_golang_cic)
	dbs --database "$url" plan
	check_contains "$OUT" "up   2_a_v (no transaction)" "$tag: plan: it runs outside a transaction"
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate exits 0"
	check_eq "$(sql "$url" "SELECT count(*) FROM pg_indexes WHERE indexname = 'a_v'")" "1" "$tag: the index is built"
	dbs --database "$url" rollback
	check_rc 0 "$tag: rollback exits 0"
	check_eq "$(sql "$url" "SELECT count(*) FROM pg_indexes WHERE indexname = 'a_v'")" "0" "$tag: the index is dropped"
	# a procedure that commits, called alone in a file (as reportportal does)
	printf 'CREATE PROCEDURE fill() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO a VALUES (1, 1); COMMIT; INSERT INTO a VALUES (2, 2); COMMIT; END $$;\n' > migrations/3_fill_proc.up.sql
	printf 'CALL fill();\n' > migrations/4_fill.up.sql
	dbs --database "$url" plan
	check_contains "$OUT" "up   4_fill (no transaction)" "$tag: a CALL runs outside a transaction"
	dbs --database "$url" migrate
	check_rc 0 "$tag: the procedure's COMMIT works (invalid transaction termination in a transaction)"
	check_eq "$(sql "$url" "SELECT count(*) FROM a")" "2" "$tag: its rows are there"
	cd "$WORK" || return
}

# goose: annotations in any case; Go migrations refused by name
t_first_contact_goose() {
	local tag="$DRIVER goose" url
	project fc_goose
	printf -- '-- +goose up\nCREATE TABLE a (id int);\n-- +goose down\nDROP TABLE a;\n' > migrations/00001_a.sql
	printf -- '-- +goose no transaction\n-- +goose Up\n-- +goose statementbegin\nCREATE TABLE b (id int);\n-- +goose statementend\n' > migrations/00002_b.sql
	url=$(newdb fc_goose)
	dbs --database "$url" plan
	check_contains "$OUT" "up   00002_b (no transaction)" "$tag: '-- +goose no transaction' in lowercase is read"
	dbs --database "$url" migrate
	check_rc 0 "$tag: lowercase annotations: migrate exits 0"
	check_eq "$(table_exists "$url" a)$(table_exists "$url" b)" "11" "$tag: both ran"
	printf 'package migrations\n' > migrations/00003_backfill.go
	printf 'package migrations\n' > migrations/embed.go
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 2 "$tag: a Go migration: exit 2"
	check_contains "$ERR" "dbshift: error: migrations/00003_backfill.go: goose Go migrations are not implemented" \
		"$tag: a Go migration is 'not implemented', naming the file"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	cd "$WORK" || return
}

# Flyway features dbshift does not run are named
t_first_contact_flyway() {
	local tag="$DRIVER flyway" url
	project fc_flyway
	printf 'CREATE TABLE a (id int);\n' > migrations/V1__a.sql
	printf 'SELECT 1;\n' > migrations/afterMigrate__refresh.sql
	url=$(newdb fc_flyway)
	dbs --database "$url" migrate
	check_rc 2 "$tag: a callback: exit 2"
	check_contains "$ERR" "dbshift: error: migrations/afterMigrate__refresh.sql: Flyway callback 'afterMigrate' is not implemented" \
		"$tag: the callback is named"
	rm migrations/afterMigrate__refresh.sql
	printf 'CREATE VIEW v AS SELECT 1 AS one;\n' > migrations/R__views.sql
	dbs --database "$url" migrate
	check_rc 2 "$tag: a repeatable: exit 2"
	check_contains "$ERR" "dbshift: error: migrations/R__views.sql: Flyway repeatable migrations (R__) are not implemented" \
		"$tag: the repeatable is named"
	check_eq "$(table_exists "$url" a)" "0" "$tag: nothing ran"
	cd "$WORK" || return
}

# Flyway ignores .sql files it cannot read as its own (DSpace keeps its
# update-sequences.sql beside its migrations): so does dbshift, saying so
t_first_contact_flyway_other_files() {
	local tag="$DRIVER flyway other files" url
	project fc_flyway_other
	printf 'CREATE TABLE a (id int);\n' > migrations/V1.1__a.sql
	printf 'SELECT 1;\n' > migrations/update-sequences.sql
	printf 'notes\n' > migrations/README.md
	url=$(newdb fc_flyway_other)
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate exits 0"
	dbs --database "$url" status
	check_contains "$ERR" "dbshift: warning: migrations/update-sequences.sql: ignored: not a migration (Flyway reads only V, U and R files and its callbacks)" \
		"$tag: status names the other file as ignored"
	check_eq "$(sql "$url" "SELECT version FROM dbshift_migrations")" "1.1" "$tag: V1.1 applied, nothing else"
	# a mistyped migration name is still an error
	printf 'CREATE TABLE b (id int);\n' > migrations/V2_b.sql
	dbs --database "$url" migrate
	check_rc 2 "$tag: V2_b.sql (one underscore): exit 2"
	check_contains "$ERR" "migrations/V2_b.sql: file name matches no migration format" "$tag: and named"
	cd "$WORK" || return
}

# Flyway runs a script outside its transaction when a statement cannot run
# in one (uaa's CREATE INDEX CONCURRENTLY); a script with its own BEGIN and
# COMMIT runs as written (DSpace); a CALL stays in the transaction
t_first_contact_flyway_tx() {
	local tag="$DRIVER flyway transactions" url
	project fc_flyway_tx
	printf 'CREATE TABLE a (id int PRIMARY KEY, v int);\n' > migrations/V1__a.sql
	printf 'CREATE INDEX CONCURRENTLY a_v ON a (v);\n' > migrations/V2__a_v.sql
	printf -- '-- a fix\nBEGIN;\nINSERT INTO a VALUES (1, 1);\nCOMMIT;\n' > migrations/V3__fix.sql
	printf 'CREATE PROCEDURE p() LANGUAGE sql AS $$ INSERT INTO a VALUES (2, 2) $$;\nCALL p();\n' > migrations/V4__call.sql
	printf 'CREATE TABLE concurrently_log (id int);\n' > migrations/V5__log.sql
	url=$(newdb fc_flyway_tx)
	dbs --database "$url" plan
	check_rc 0 "$tag: plan exits 0"
	check_contains "$OUT" "up   2_a_v (no transaction)" "$tag: the CONCURRENTLY script runs outside a transaction"
	check_contains "$OUT" "up   3_fix (its own transaction)" "$tag: the BEGIN/COMMIT script runs as written"
	check_lacks "$OUT" "up   4_call (no" "$tag: a CALL stays in the transaction"
	check_lacks "$OUT" "up   5_log (no" "$tag: a table named concurrently_... is no CONCURRENTLY"
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate exits 0"
	check_eq "$(sql "$url" "SELECT count(*) FROM pg_indexes WHERE indexname = 'a_v'")" "1" "$tag: the index is built"
	check_eq "$(sql "$url" "SELECT string_agg(id::text, ' ' ORDER BY id) FROM a")" "1 2" "$tag: the fix and the call ran"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")" "5" "$tag: all five recorded"
	cd "$WORK" || return
}

# every --json / --format json prints its document, whatever happens
t_first_contact_json() {
	local tag="$DRIVER json always"
	project fc_json
	printf -- '-- migrate:up\nSELECT 1;\n-- migrate:up\n' > migrations/1_a.sql
	dbs lint --format json
	check_rc 2 "$tag: lint --format json of a broken directory: exit 2"
	check_eq "$(echo "$OUT" | jq -r '"\(.command) \(.exit_code) \(.error.message)"')" \
		"lint 2 second '-- migrate:up' section" "$tag: lint --format json prints the error as JSON"
	dbs lint --format json --bogus
	check_eq "$(echo "$OUT" | jq -r '"\(.exit_code) \(.error.message)"')" \
		"2 unknown option '--bogus' for lint" "$tag: a usage error after --format json is JSON"
	dbs --json help
	check_rc 0 "$tag: help --json exits 0"
	check_eq "$(echo "$OUT" | jq -r '[.commands[].name] | index("migrate") != null')" "true" \
		"$tag: help --json lists the commands"
	dbs --json help lint
	check_eq "$(echo "$OUT" | jq -r '.commands[0].options[].name' | tr '\n' ' ')" "--format --fail-on " \
		"$tag: help --json COMMAND: its options"
	rm migrations/1_a.sql
	local url; url=$(newdb fc_json)
	dbs --database "$url" --json schema dump "$WORK/fc_schema.sql"
	check_rc 0 "$tag: schema dump FILE --json exits 0"
	check_eq "$(echo "$OUT" | jq -r .file)" "$WORK/fc_schema.sql" "$tag: schema dump FILE --json: only the JSON document"
	cd "$WORK" || return
}

# sqlx's simple migrations: <version>_<name>.sql without markers, the
# whole file the up, '-- no-transaction' at its start
t_first_contact_sqlx() {
	local tag="$DRIVER sqlx" url
	project fc_sqlx
	printf -- '-- Add migration script here\nCREATE TABLE items (id integer PRIMARY KEY, title text NOT NULL);\nINSERT INTO items VALUES (1, '"'"'pen; blue'"'"');\n' > migrations/20240101000000_items.sql
	printf 'ALTER TABLE items ADD COLUMN price integer;\nUPDATE items SET price = 150 WHERE id = 1;\n' > migrations/20240102000000_price.sql
	if [ "$DRIVER" = postgres ]; then  # it cannot run inside a transaction
		printf -- '-- no-transaction\nCREATE INDEX CONCURRENTLY items_title ON items (title);\n' > migrations/20240103000000_title.sql
	else
		printf -- '-- no-transaction\nCREATE INDEX items_title ON items (title);\n' > migrations/20240103000000_title.sql
	fi
	url=$(newdb fc_sqlx)
	dbs --database "$url" plan
	check_contains "$OUT" "up   20240103000000_title (no transaction)" "$tag: '-- no-transaction' at the start is read"
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate exits 0"
	check_eq "$(sql "$url" "SELECT id, title, price FROM items")" "1|pen; blue|150" "$tag: each whole file ran, in version order"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")" "3" "$tag: three recorded"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '[.migrations[] | .state] | join(" ")')" "applied applied applied" "$tag: status"
	dbs --database "$url" status
	check_contains "$OUT" "layout: sqlx" "$tag: status says how the files were read"
	dbs --database "$url" rollback
	check_rc 3 "$tag: rollback of a migration without a down is refused"
	check_contains "$ERR" "20240103000000_title: it is irreversible" "$tag: it is irreversible"
	dbs new add_note
	check_rc 0 "$tag: new"
	local made; made=$(ls migrations | grep add_note)
	check_eq "$(echo "$made" | sed 's/^[0-9]*_//'):$(cat "migrations/$made")" "add_note.sql:-- Add migration script here" \
		"$tag: new writes sqlx's file, as 'sqlx migrate add' does"
	rm "migrations/$made"
	# a file with dbmate's markers among them: the one without is a mistake
	printf -- '-- migrate:up\nCREATE TABLE b (id int);\n-- migrate:down\nDROP TABLE b;\n' > migrations/20240104000000_b.sql
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 2 "$tag: files with and without markers: exit 2"
	check_contains "$ERR" "dbshift: error: migrations/20240101000000_items.sql:2:1: SQL before the up section" \
		"$tag: the first file without markers, as dbmate reads it"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	cd "$WORK" || return
}

# Prisma: <version>_<name>/migration.sql, migration_lock.toml beside them
t_first_contact_prisma() {
	local tag="$DRIVER prisma" url provider=postgresql
	[ "$DRIVER" = sqlite ] && provider=sqlite
	project fc_prisma
	printf '# Please do not edit this file manually\nprovider = "%s"\n' "$provider" > migrations/migration_lock.toml
	mkdir -p migrations/0_init migrations/20240102000000_price migrations/20240103000000_title
	printf -- '-- CreateTable\nCREATE TABLE "items" ("id" INTEGER NOT NULL, "title" TEXT NOT NULL, CONSTRAINT "items_pkey" PRIMARY KEY ("id"));\nINSERT INTO items VALUES (1, '"'"'pen; blue'"'"');\n' > migrations/0_init/migration.sql
	printf -- '-- AlterTable\nALTER TABLE "items" ADD COLUMN "price" INTEGER;\nUPDATE items SET price = 150 WHERE id = 1;\n' > migrations/20240102000000_price/migration.sql
	if [ "$DRIVER" = postgres ]; then  # alone in its file, as Prisma wants it
		printf 'CREATE INDEX CONCURRENTLY "items_title" ON "items"("title");\n' > migrations/20240103000000_title/migration.sql
	else
		printf 'CREATE INDEX "items_title" ON "items"("title");\n' > migrations/20240103000000_title/migration.sql
	fi
	printf 'DROP INDEX "items_title";\n' > migrations/20240103000000_title/down.sql
	printf 'INSERT INTO items VALUES (2, '"'"'seed'"'"');\n' > migrations/seed.sql
	url=$(newdb fc_prisma)
	dbs --database "$url" plan
	check_contains "$OUT" "up   0_init" "$tag: a baseline named 0_init comes first"
	if [ "$DRIVER" = postgres ]; then
		check_contains "$OUT" "up   20240103000000_title (no transaction)" "$tag: CONCURRENTLY runs outside a transaction, as Prisma's one-statement file does"
	fi
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate exits 0"
	check_eq "$(sql "$url" "SELECT id, title, price FROM items")" "1|pen; blue|150" "$tag: each migration.sql ran whole, in order; seed.sql did not"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.warnings[]')" "migrations/seed.sql: ignored: not a migration (Prisma reads only the directories beside it)" "$tag: the file beside them is ignored, saying so"
	check_eq "$(echo "$OUT" | jq -r '[.migrations[] | "\(.version):\(.state)"] | join(" ")')" "0_init:applied 20240102000000_price:applied 20240103000000_title:applied" "$tag: status: a migration's version is its directory's name, as Prisma knows it"
	dbs --database "$url" status
	check_contains "$OUT" "layout: prisma" "$tag: status says how the files were read"
	# two of one time are two migrations, in name order (trigger.dev has them)
	mkdir migrations/20240104000000_b_note migrations/20240104000000_a_tag
	printf 'ALTER TABLE "items" ADD COLUMN "note" TEXT;\n' > migrations/20240104000000_b_note/migration.sql
	printf 'ALTER TABLE "items" ADD COLUMN "tag" TEXT;\nUPDATE items SET tag = '"'"'a'"'"';\n' > migrations/20240104000000_a_tag/migration.sql
	printf 'ALTER TABLE "items" DROP COLUMN "note";\n' > migrations/20240104000000_b_note/down.sql
	printf 'ALTER TABLE "items" DROP COLUMN "tag";\n' > migrations/20240104000000_a_tag/down.sql
	dbs --database "$url" migrate
	check_rc 0 "$tag: two migrations of one time apply"
	check_contains "$OUT" "applied      20240104000000_a_tag" "$tag: the first by name"
	check_contains "$OUT" "applied      20240104000000_b_note" "$tag: then the second"
	dbs --database "$url" rollback --steps 2
	check_rc 0 "$tag: and roll back"
	rm -r migrations/20240104000000_b_note migrations/20240104000000_a_tag
	dbs --database "$url" rollback
	check_rc 0 "$tag: the down.sql beside migration.sql rolls back"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")" "2" "$tag: its row is gone"
	dbs --database "$url" rollback
	check_rc 3 "$tag: a migration without a down.sql is irreversible"
	check_contains "$ERR" "20240102000000_price: it is irreversible" "$tag: saying which"
	dbs new add_note
	check_rc 0 "$tag: new"
	local made; made=$(cd migrations && ls -d [0-9]*_add_note)
	check_eq "$(echo "$made" | sed 's/^[0-9]\{14\}_//'):$(cat "migrations/$made/migration.sql")" "add_note:-- This is an empty migration." \
		"$tag: new writes Prisma's directory and migration.sql"
	rm -r "migrations/$made"
	# written for another database
	local before; before=$(snapshot "$url")
	printf 'provider = "mysql"\n' > migrations/migration_lock.toml
	dbs --database "$url" migrate
	check_rc 2 "$tag: migrations for MySQL: exit 2"
	check_eq "$(echo "$ERR" | head -n 2)" "dbshift: error: migrations/migration_lock.toml: the migrations are written for provider \"mysql\", which dbshift does not run
HINT: dbshift runs PostgreSQL and SQLite: migrate this database with Prisma" "$tag: names the lock file and the provider"
	local other=sqlite other_title=SQLite this_title=PostgreSQL
	[ "$DRIVER" = sqlite ] && other=postgresql other_title=PostgreSQL this_title=SQLite
	printf 'provider = "%s"\n' "$other" > migrations/migration_lock.toml
	dbs --database "$url" migrate
	check_rc 2 "$tag: migrations for the other database: exit 2"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: migrations/migration_lock.toml: the migrations are written for $other_title (provider = \"$other\"), and this database is $this_title" "$tag: says which"
	printf 'provider = "%s"\n' "$provider" > migrations/migration_lock.toml
	mkdir migrations/init && printf 'SELECT 1;\n' > migrations/init/migration.sql
	dbs --database "$url" migrate
	check_rc 2 "$tag: a Prisma directory without a version: exit 2"
	check_contains "$ERR" "migrations/init: Prisma migration directory without a version" "$tag: naming it"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	cd "$WORK" || return
}

# Drizzle: drizzle-kit's <idx>_<name>.sql, statements between
# '--> statement-breakpoint' comments, its journal in meta/
t_first_contact_drizzle() {
	local tag="$DRIVER drizzle" url
	project fc_drizzle
	mkdir migrations/meta
	printf '{"version":"7","dialect":"sqlite","entries":[]}\n' > migrations/meta/_journal.json
	printf 'CREATE TABLE `items` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`title` text NOT NULL\n);\n--> statement-breakpoint\nCREATE INDEX `items_title` ON `items` (`title`);' > migrations/0000_tidy_items.sql
	printf 'ALTER TABLE `items` ADD `price` integer;' > migrations/0001_brave_price.sql
	[ "$DRIVER" = postgres ] && sed -i 's/`/"/g' migrations/*.sql
	url=$(newdb fc_drizzle)
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate exits 0"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")" "2" "$tag: both applied"
	dbs --database "$url" status
	check_contains "$OUT" "layout: drizzle" "$tag: status says how the files were read"
	dbs new add_note
	check_rc 2 "$tag: new is refused: drizzle-kit writes the journal too"
	check_eq "$ERR" "dbshift: error: 'migrations' holds Drizzle's migrations, which drizzle-kit writes with their journal (meta/_journal.json)
HINT: run 'drizzle-kit generate --custom --name add_note'" "$tag: saying what to run"
	check_eq "$(ls migrations | grep -c add_note)" "0" "$tag: and writing nothing"
	cd "$WORK" || return
}

# Atlas: <version>_<name>.sql beside atlas.sum; '-- atlas:txmode none' in
# a file's header (ended by an empty line) runs it outside a transaction
t_first_contact_atlas() {
	local tag="$DRIVER atlas" url cic=""
	project fc_atlas
	[ "$DRIVER" = postgres ] && cic="CONCURRENTLY "
	printf 'h1:sum\n' > migrations/atlas.sum
	printf -- '-- Create "items" table\nCREATE TABLE "items" ("id" integer NOT NULL, "title" text NOT NULL, PRIMARY KEY ("id"));\n' > migrations/20240101000000_items.sql
	printf -- '-- atlas:txmode none\n\n-- Create index "items_title" to table: "items"\nCREATE INDEX %s"items_title" ON "items" ("title");\n' "$cic" > migrations/20240102000000_title.sql
	# without the empty line the comment is the statement's: in a transaction
	printf -- '-- atlas:txmode none\nALTER TABLE "items" ADD COLUMN "price" integer;\n' > migrations/20240103000000_price.sql
	url=$(newdb fc_atlas)
	dbs --database "$url" plan
	check_contains "$OUT" "up   20240102000000_title (no transaction)" "$tag: '-- atlas:txmode none' in the header runs the file outside a transaction"
	check_contains "$OUT" "up   20240103000000_price (score" "$tag: not without the empty line after it, as in Atlas"
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate exits 0"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")" "3" "$tag: all three applied"
	dbs --database "$url" status
	check_contains "$OUT" "layout: atlas" "$tag: status says how the files were read"
	printf -- '-- atlas:delimiter -- end\n\nCREATE TABLE "b" ("id" integer)\n-- end\n' > migrations/20240104000000_b.sql
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 2 "$tag: atlas:delimiter: exit 2"
	check_eq "$(echo "$ERR" | head -n 2)" "dbshift: error: migrations/20240104000000_b.sql:1:1: Atlas's atlas:delimiter is not implemented
HINT: end each statement with ';' and remove the directive" "$tag: saying so, with the file and line"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	cd "$WORK" || return
}

t_first_contact() {
	t_first_contact_atlas
	t_first_contact_drizzle
	t_first_contact_prisma
	t_first_contact_sqlx
	t_first_contact_empty_history
	t_first_contact_popx
	t_first_contact_golang_tx
	t_first_contact_goose
	t_first_contact_flyway
	t_first_contact_json
	t_first_contact_flyway_other_files
	if [ "$DRIVER" = postgres ]; then
		t_first_contact_golang_cic
		t_first_contact_flyway_tx
	fi
	return 0
}
