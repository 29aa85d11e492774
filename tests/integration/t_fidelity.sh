# t_fidelity.sh - real projects' layouts read unchanged (Diesel as diesel
# writes it, dbmate with transaction:false on both markers, popx with
# dialect suffixes), each through migrate, status and rollback zero, with
# the schema compared to the same files applied by hand with psql or
# sqlite3; and migrations undone honestly: irreversible downs, atomic redo,
# repair after a failed no-transaction rollback.

steps_of() { jq -r '.steps[] | "\(.action) \(.version)_\(.name) \(.status)"'; }

# apply_by_hand URL FILE...: the files, in order, as a person would.
apply_by_hand() {
	local url=$1 f
	shift
	for f in "$@"; do
		case "$url" in
		sqlite:*) sqlite3 -bail "${url#sqlite:}" < "$f" || return 1 ;;
		*) psql -X -q -v ON_ERROR_STOP=1 "$url" -f "$f" >/dev/null || return 1 ;;
		esac
	done
}

# up_of FILE: a dbmate file's up section, as a file of its own.
up_of() {
	local out; out="$WORK/up_$(basename "$1")"
	sed -n '/^-- migrate:up/,/^-- migrate:down/{/^-- migrate:/!p}' "$1" > "$out"
	echo "$out"
}

# same_schema TAG URL FILE...: migrate's schema equals the files' by hand.
same_schema() {
	local tag=$1 url=$2 hand
	shift 2
	hand=$(newdb "${tag##* }_hand")
	apply_by_hand "$hand" "$@"
	check_rc_of $? 0 "$tag: the files apply by hand"
	dbs --database "$url" schema dump
	local ours=$OUT
	dbs --database "$hand" schema dump
	check_eq "$ours" "$OUT" "$tag: the schema is the one the files give by hand"
}

check_rc_of() { RC=$1; check_rc "$2" "$3"; }

t_fidelity_diesel() {
	project diesel_real diesel_real
	local url; url=$(newdb diesel_real) tag="$DRIVER diesel_real"
	dbs --database "$url" --json migrate
	check_rc 0 "$tag: migrate exits 0"
	check_eq "$(echo "$OUT" | steps_of)" "up 00000000000000_diesel_initial_setup succeeded
up 20190412101530_create_users succeeded
up 201908312304570000_create_accounts succeeded
up 20200101000000_create_posts succeeded" "$tag: Diesel's names, in Diesel's order (version strings without dashes)"
	check_eq "$(sql "$url" "SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_user_id_idx'::regclass")" "t" \
		"$tag: metadata.toml run_in_transaction = false ran CREATE INDEX CONCURRENTLY outside a transaction"

	dbs --database "$url" --json status
	check_eq "$ERR" "dbshift: warning: migrations/seed.sql: ignored: not a migration (Diesel reads only the directories beside it)" \
		"$tag: status warns about the stray file"
	check_eq "$(echo "$OUT" | jq -r '.migrations[] | "\(.version) \(.state) \(.format) \(.no_transaction) \(.down_no_transaction)"')" \
		"00000000000000 applied diesel false false
20190412101530 applied diesel false false
201908312304570000 applied diesel true true
20200101000000 applied diesel false false" "$tag: status: every one applied, the transaction mode of each direction"
	check_eq "$(echo "$OUT" | jq -r '.warnings[]')" "migrations/seed.sql: ignored: not a migration (Diesel reads only the directories beside it)" \
		"$tag: status --json lists the ignored file"
	dbs --database "$url" migrate
	check_eq "$ERR" "" "$tag: other commands stay quiet about it"
	dbs --database "$url" -v migrate
	check_contains "$ERR" "seed.sql: ignored" "$tag: ... unless -v"

	same_schema "$tag" "$url" migrations/00000000000000_diesel_initial_setup/up.sql \
		migrations/2019-04-12-101530_create_users/up.sql \
		migrations/2019-08-31-230457-0000_create_accounts/up.sql \
		migrations/20200101000000_create_posts/up.sql

	dbs --database "$url" --json rollback zero
	check_rc 0 "$tag: rollback zero exits 0"
	check_eq "$(echo "$OUT" | steps_of)" "down 20200101000000_create_posts succeeded
down 201908312304570000_create_accounts succeeded
down 20190412101530_create_users succeeded
down 00000000000000_diesel_initial_setup succeeded" "$tag: rollback zero in reverse Diesel order (DROP INDEX CONCURRENTLY outside a transaction)"
	check_eq "$(sql "$url" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'dbshift%'")" "0" "$tag: no table left"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")" "0" "$tag: history empty"

	# a mistyped migration name beside them is still an error
	printf 'SELECT 1;\n' > migrations/up.sql
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 2 "$tag: a file that could be a mistyped migration is an input error"
	check_contains "$ERR" "migrations/up.sql: file name matches no migration format" "$tag: naming it"
	check_eq "$(snapshot "$url")" "$before" "$tag: and nothing changed"
	cd "$WORK" || return
}

t_fidelity_dbmate() {
	project dbmate_notx dbmate_notx
	local url; url=$(newdb dbmate_notx) tag="$DRIVER dbmate_notx"
	dbs --database "$url" --json migrate
	check_rc 0 "$tag: migrate exits 0"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[] | "\(.version) \(.state) \(.no_transaction) \(.down_no_transaction)"')" \
		"20240101000001 applied false false
20240101000002 applied true true
20240101000003 applied false true" "$tag: transaction:false on either marker sets that direction only"
	same_schema "$tag" "$url" "$(up_of migrations/20240101000001_create_items.sql)" \
		"$(up_of migrations/20240101000002_index_items.sql)" \
		"$(up_of migrations/20240101000003_unique_titles.sql)"
	# a transactional down that cannot run in a transaction is refused, naming the down
	cp migrations/20240101000002_index_items.sql keep.sql
	sed -i 's/^-- migrate:down transaction:false/-- migrate:down/' migrations/20240101000002_index_items.sql
	local before; before=$(snapshot "$url")
	dbs --database "$url" rollback 20240101000001
	check_rc 2 "$tag: DROP INDEX CONCURRENTLY in a transactional down is an input error"
	check_contains "$ERR" "DROP INDEX CONCURRENTLY cannot run inside a transaction, and this migration's down runs in one" "$tag: naming the down"
	check_contains "$ERR" "'-- migrate:down transaction:false'" "$tag: and what to write"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	mv keep.sql migrations/20240101000002_index_items.sql

	dbs --database "$url" --json rollback zero
	check_rc 0 "$tag: rollback zero runs the DROP INDEX CONCURRENTLY downs outside a transaction"
	check_eq "$(echo "$OUT" | steps_of)" "down 20240101000003_unique_titles succeeded
down 20240101000002_index_items succeeded
down 20240101000001_create_items succeeded" "$tag: every down ran"
	check_eq "$(table_exists "$url" items)" "0" "$tag: table gone"
	cd "$WORK" || return
}

t_fidelity_popx() {
	project popx popx
	local url; url=$(newdb popx) tag="$DRIVER popx" d=postgres
	[ "$DRIVER" = sqlite ] && d=sqlite3
	dbs --database "$url" --json migrate
	check_rc 0 "$tag: migrate exits 0 (files of other databases left alone)"
	check_eq "$(echo "$OUT" | steps_of)" "up 20210101000000_identities succeeded
up 20210101000001_identities_traits succeeded
up 20210101000002_sessions succeeded" "$tag: one migration per version, named without the suffixes"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[] | "\(.version) \(.state) \(.format) \(.no_transaction)"')" \
		"20210101000000 applied popx false
20210101000001 applied popx $([ "$DRIVER" = postgres ] && echo true || echo false)
20210101000002 applied golang-migrate false" "$tag: status; .autocommit runs outside a transaction"
	same_schema "$tag" "$url" "migrations/20210101000000_identities.$d.up.sql" \
		"$(ls migrations/20210101000001_identities_traits.$d*.up.sql)" \
		migrations/20210101000002_sessions.up.sql
	dbs --database "$url" --json rollback zero
	check_rc 0 "$tag: rollback zero exits 0"
	check_eq "$(echo "$OUT" | jq -r '.steps | length')" "3" "$tag: every migration undone"
	check_eq "$(table_exists "$url" identities)$(table_exists "$url" sessions)" "00" "$tag: tables gone"
	cd "$WORK" || return
}

t_undo() {
	project undo
	local url; url=$(newdb undo) tag="$DRIVER undo"
	printf -- '-- migrate:up\nCREATE TABLE kept (id int);\nINSERT INTO kept VALUES (1);\n-- migrate:down\n-- nothing to undo\n' > migrations/1_kept.sql
	printf -- '-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1);\n-- migrate:down\nDROP TABLE t;\n' > migrations/2_t.sql
	dbs --database "$url" migrate
	check_rc 0 "$tag: setup"

	# redo runs the down and the up in one transaction
	printf -- '-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1);\nINSERT INTO t SELECT id FROM kept;\n-- migrate:down\nDROP TABLE t;\n' > migrations/2_t.sql
	local before; before=$(sql "$url" "SELECT version, status, checksum FROM dbshift_migrations ORDER BY version")
	dbs --database "$url" redo --allow-drift
	check_rc 1 "$tag: redo whose up fails exits 1"
	check_contains "$ERR" "dbshift: the redo ran in one transaction, which was rolled back: the database is as it was before the redo" "$tag: and says the redo was undone whole"
	check_eq "$(sql "$url" "SELECT version, status, checksum FROM dbshift_migrations ORDER BY version")" "$before" "$tag: history as before the redo"
	check_eq "$(sql "$url" "SELECT count(*) FROM t")" "1" "$tag: the down's DROP was rolled back too"
	printf -- '-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1);\n-- migrate:down\nDROP TABLE t;\n' > migrations/2_t.sql
	dbs --database "$url" redo
	check_rc 0 "$tag: redo exits 0"
	check_eq "$(echo "$OUT" | sed 's/ ([0-9]* ms)//; s/^run [0-9TZ.-]*, report reports\/[0-9TZ.-]*\.json$/run ID, report FILE/')" "rolled back  2_t
applied      2_t
redo: 2 migrations
run ID, report FILE" "$tag: redo: the down, then the up"
	dbs --database "$url" rollback
	check_rc 0 "$tag: rollback 2_t"

	# a down without statements is irreversible
	before=$(snapshot "$url")
	dbs --database "$url" rollback
	check_rc 3 "$tag: rolling back an irreversible migration exits 3"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: migrations/1_kept.sql: cannot roll back 1_kept: it is irreversible (its down holds no statement)" "$tag: saying why"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	dbs --database "$url" redo
	check_rc 3 "$tag: redo refuses it too"
	dbs --database "$url" plan --rollback
	check_rc 3 "$tag: plan --rollback says rollback would be refused"
	check_contains "$OUT" "down 1_kept (irreversible: no statement undoes it)" "$tag: plan --rollback marks it irreversible"
	dbs lint migrations/1_kept.sql
	check_contains "$OUT" "irreversible: its down holds no statement" "$tag: lint says it is irreversible"
	dbs --database "$url" rollback --allow-irreversible
	check_rc 0 "$tag: --allow-irreversible forgets it"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")$(table_exists "$url" kept)" "01" "$tag: history forgot it, its table stays"

	# redo of an irreversible migration outside a transaction stops before the up
	printf -- '-- dbshift:no-transaction\n-- migrate:up\nCREATE TABLE nt (id int);\n-- migrate:down\n' > migrations/3_nt.sql
	rm migrations/1_kept.sql
	sql "$url" "DROP TABLE kept" >/dev/null
	dbs --database "$url" migrate
	check_rc 0 "$tag: setup 3_nt"
	before=$(snapshot "$url")
	dbs --database "$url" redo --allow-irreversible
	check_rc 3 "$tag: redo of an empty no-transaction down is refused"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: migrations/3_nt.sql: redo of 3_nt stops before its up: its down holds no statement, so the up would run on top of itself" "$tag: saying why"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	cd "$WORK" || return
}

t_repair_down() {
	project repair_down
	local url; url=$(newdb repair_down) tag="$DRIVER repair_down"
	printf -- '-- dbshift:no-transaction down\n-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO a VALUES (1);\nCREATE TABLE b (id int);\n-- migrate:down\nDROP TABLE b;\nINSERT INTO a VALUES (1);\nDROP TABLE a;\n' > migrations/1_ab.sql
	dbs --database "$url" migrate
	check_rc 0 "$tag: setup"
	dbs --database "$url" rollback
	check_rc 1 "$tag: a no-transaction down that fails exits 1"
	check_eq "$(sql "$url" "SELECT status FROM dbshift_migrations")" "failed_down" "$tag: the row says the rollback failed"
	check_contains "$(sql "$url" "SELECT message FROM dbshift_migrations")" "rollback failed at migrations/1_ab.sql:8:1" "$tag: with the statement it reached"
	check_contains "$ERR" "repair --down-done" "$tag: the hint names the repair flags"
	check_eq "$(table_exists "$url" a)$(table_exists "$url" b)" "10" "$tag: what ran before stays done"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[0] | "\(.state) \(.failed_direction)"')" "failed down" "$tag: status shows the truth"
	dbs --database "$url" status
	check_contains "$OUT" "failed (rollback)" "$tag: status says the rollback failed"
	check_contains "$OUT" "rollback failed at migrations/1_ab.sql:8:1" "$tag: and where"
	dbs --database "$url" migrate
	check_rc 3 "$tag: migrate is blocked"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: the rollback of migration 1_ab failed earlier and blocks further runs" "$tag: by the failed rollback"
	check_contains "$ERR" "what the down drops or changes" "$tag: with a hint about the down, not the up"

	local before; before=$(snapshot "$url")
	dbs --database "$url" repair
	check_rc 2 "$tag: repair does not guess"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: the rollback of 1_ab failed outside a transaction: say how it ended" "$tag: it asks"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"

	# undone by hand: it stays applied
	sql "$url" "CREATE TABLE b (id int)" >/dev/null
	dbs --database "$url" repair --down-undone
	check_rc 0 "$tag: repair --down-undone"
	check_eq "$(sql "$url" "SELECT status FROM dbshift_migrations")" "applied" "$tag: the migration is applied again"
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate runs again (nothing to do)"

	# finished by hand: it is pending, and migrate applies it again
	dbs --database "$url" rollback
	check_rc 1 "$tag: the rollback fails again"
	dbs --database "$url" repair --down-done --down-undone
	check_rc 2 "$tag: one answer at a time"
	check_contains "$ERR" "give either --down-done or --down-undone, not both" "$tag: saying so"
	sql "$url" "DROP TABLE a" >/dev/null
	dbs --database "$url" repair --down-done
	check_rc 0 "$tag: repair --down-done"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")" "0" "$tag: the migration is pending"
	dbs --database "$url" migrate
	check_rc 0 "$tag: and migrate applies it"
	check_eq "$(table_exists "$url" a)$(table_exists "$url" b)" "11" "$tag: its tables are back"
	cd "$WORK" || return
}

# lint asks pg_proc how volatile a default's function is, when it has a database
t_lint_volatility() {
	project lint_vol
	local url; url=$(newdb lint_vol) tag="$DRIVER lint_vol"
	printf -- '-- migrate:up\nCREATE TABLE items (id int);\nCREATE FUNCTION make_code() RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT text $x$abc$x$ $$;\nCREATE FUNCTION roll() RETURNS int VOLATILE LANGUAGE sql AS $$ SELECT 4 $$;\n-- migrate:down\nDROP FUNCTION roll();\nDROP FUNCTION make_code();\nDROP TABLE items;\n' > migrations/1_setup.sql
	dbs --database "$url" migrate
	check_rc 0 "$tag: setup"
	printf -- '-- migrate:up\nSET lock_timeout = $$2s$$;\nALTER TABLE items ADD COLUMN code text DEFAULT make_code();\nALTER TABLE items ADD COLUMN n int DEFAULT roll();\n-- migrate:down\nALTER TABLE items DROP COLUMN n;\nALTER TABLE items DROP COLUMN code;\n' > migrations/2_cols.sql
	local q='.migrations[].statements[].findings[] | select(.allowed | not) | "\(.rule) \(.line):\(.col)"'
	dbs --database "$url" lint --format json
	check_eq "$(echo "$OUT" | jq -r "$q")" "add-column-volatile-default 4:30" "$tag: with a database, pg_proc says make_code() is immutable and roll() volatile"
	dbs lint --format json migrations/2_cols.sql
	check_eq "$(echo "$OUT" | jq -r "$q")" "add-column-volatile-default 3:30
add-column-volatile-default 4:30" "$tag: without one, a function not known to be stable counts as volatile"
	cd "$WORK" || return
}
