# t_safety.sh - the safety net: data assertions (verify, migrate with
# assertions = on, the release step assert).

t_assertions() {
	project assertions
	local url; url=$(newdb assertions) tag="$DRIVER assertions"
	mkdir assertions
	printf -- '-- migrate:up\nCREATE TABLE accounts (id int PRIMARY KEY);\nCREATE TABLE payments (id int PRIMARY KEY, account_id int NOT NULL, amount_cents int NOT NULL);\nCREATE INDEX payments_account ON payments (account_id);\nINSERT INTO accounts VALUES (1), (2);\nINSERT INTO payments VALUES (1, 1, 100), (2, 2, 200), (3, 9, 300), (4, 8, 400);\n-- migrate:down\nDROP TABLE payments;\nDROP TABLE accounts;\n' > migrations/1_init.sql
	printf -- '-- payments whose account is gone\nSELECT id, account_id\nFROM payments\nWHERE account_id NOT IN (SELECT id FROM accounts)\nORDER BY id;\n' > assertions/orphans.sql
	printf -- '-- dbshift:invariant\n-- dbshift:timeout 30s\nSELECT count(*), sum(amount_cents) FROM payments\n' > assertions/totals.sql
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate without assertions = on does not run them"

	# verify runs the assertions that are not invariants: their rows
	dbs --database "$url" verify
	check_rc 1 "$tag: verify fails on an assertion's violations"
	check_eq "$(echo "$OUT" | sed -n '/assertion orphans/,/^verify/p')" "FAIL  assertion orphans: 2 violations
      assertions/orphans.sql
        id | account_id
        3 | 9
        4 | 8
verify: 1 of 10 checks failed" "$tag: verify prints the failing assertion's rows"
	dbs --database "$url" --json verify
	json_valid "$tag: verify --json with assertions is valid"
	check_eq "$(echo "$OUT" | jq -c '.checks[] | select(.check == "assertion") | [.name, .status, .violations, .columns, .rows]')" \
		'["orphans","fail",2,["id","account_id"],[["3","9"],["4","8"]]]' "$tag: and so does its JSON"
	check_eq "$(echo "$OUT" | jq -r '[.checks[] | select(.check == "invariant")] | length')" 0 \
		"$tag: verify does not take invariants (they need a before)"

	# the data fixed: it passes
	sql "$url" "DELETE FROM payments WHERE account_id > 2" >/dev/null
	dbs --database "$url" verify
	check_rc 0 "$tag: verify passes when the violations are fixed"
	check_contains "$OUT" "pass  assertion orphans" "$tag: the assertion passes"

	# assertions = on: a migration that loses rows is caught by the invariant
	printf '[dbshift]\nassertions = on\n' > dbshift.conf
	printf -- '-- migrate:up\nDELETE FROM payments WHERE id = 2;\n-- migrate:down\nSELECT 1;\n' > migrations/2_lose.sql
	dbs --database "$url" migrate
	check_rc 1 "$tag: an invariant that changed fails migrate"
	check_contains "$ERR" "1 assertion failed after the migrations: invariant totals: before 2 | 300, after 1 | 100" \
		"$tag: the failure names the invariant, before and after"
	local report; report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '.assertions[] | [.name, .status]' "$report")" '["orphans","pass"]
["totals","fail"]' "$tag: the run's report holds every assertion's result"

	# an invariant that holds: the migration passes
	printf -- '-- migrate:up\nUPDATE payments SET account_id = 1 WHERE id = 1;\n-- migrate:down\nSELECT 1;\n' > migrations/3_keep.sql
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate passes when the invariants hold"

	# an orphan made by a migration: caught after it
	printf -- '-- migrate:up\nINSERT INTO payments VALUES (7, 42, 0);\n-- migrate:down\nDELETE FROM payments WHERE id = 7;\n' > migrations/4_orphan.sql
	dbs --database "$url" migrate
	check_rc 1 "$tag: an assertion violated after the migrations fails migrate"
	check_contains "$ERR" "assertion orphans: 1 violation, first 7 | 42" "$tag: the failure names the assertion and its first row"
	sql "$url" "DELETE FROM payments WHERE id = 7" >/dev/null

	# bad files: exit 2, naming file:line, nothing changes
	local before; before=$(snapshot "$url")
	printf -- '-- dbshift:invariant\n-- dbshift:timeout soon\nSELECT 1\n' > assertions/zbad.sql
	dbs --database "$url" verify
	check_rc 2 "$tag: a bad header is an input error"
	check_contains "$ERR" "assertions/zbad.sql:2:1: bad header '-- dbshift:timeout'" "$tag: it names file:line"
	printf -- 'SELECT 1;\nSELECT 2;\n' > assertions/zbad.sql
	dbs --database "$url" verify
	check_rc 2 "$tag: two statements in an assertion are an input error"
	check_contains "$ERR" "assertions/zbad.sql:2:1: " "$tag: it names the second one"
	check_contains "$ERR" "more than one statement: an assertion is one query" "$tag: and says why"
	printf -- 'UPDATE payments SET amount_cents = 0\n' > assertions/zbad.sql
	dbs --database "$url" verify
	check_rc 2 "$tag: a change is not an assertion"
	check_eq "$(sql "$url" "SELECT count(*) FROM payments WHERE amount_cents = 0")" 0 "$tag: and it did not run"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed"
	rm assertions/zbad.sql

	# a timeout stops a slow assertion
	if [ "$DRIVER" = postgres ]; then
		printf -- '-- dbshift:timeout 200ms\nSELECT pg_sleep(30)\n' > assertions/slow.sql
	else
		printf -- '-- dbshift:timeout 200ms\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n WHERE i < 0\n' > assertions/slow.sql
	fi
	dbs --database "$url" verify
	check_rc 1 "$tag: a slow assertion fails"
	check_contains "$ERR" "assertion slow: canceling statement due to statement timeout" "$tag: stopped by its timeout"
	rm assertions/slow.sql

	# the release step assert: invariants taken as the release begins
	printf '[release]\nsteps = migrate assert\n' >> dbshift.conf
	sed -i 's/^assertions = on$/assertions = off/' dbshift.conf
	printf -- '-- migrate:up\nDELETE FROM payments WHERE id = 3;\n-- migrate:down\nSELECT 1;\n' > migrations/5_lose.sql
	sql "$url" "INSERT INTO payments VALUES (3, 1, 50)" >/dev/null
	dbs --database "$url" release --dry-run
	check_contains "$OUT" "assert           check 2 data assertions: orphans totals (invariant)" "$tag: release --dry-run shows the assert step"
	dbs --database "$url" release
	check_rc 1 "$tag: the assert step fails the release on a changed invariant"
	check_contains "$OUT" "assert             failed" "$tag: the step failed"
	check_contains "$ERR" "assert: 1 of 2 assertions failed: invariant totals: before 2 | 150, after 1 | 100" \
		"$tag: it says which and how"
	rm dbshift.conf
	cd "$WORK" || return
}

t_promotion() {
	project promotion
	local tag="$DRIVER promotion" dev stg prod
	dev=$(newdb promo_dev) stg=$(newdb promo_stg) prod=$(newdb promo_prod)
	printf '[env "dev"]\ndatabase = %s\n[env "staging"]\ndatabase = %s\npromote_from = dev\n[env "prod"]\ndatabase = %s\npromote_from = staging\n[release]\nsteps = backup migrate\n' \
		"$dev" "$stg" "$prod" > dbshift.conf
	printf -- '-- migrate:up\nCREATE TABLE t1 (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE t1;\n' > migrations/001_t1.sql
	printf -- '-- migrate:up\nCREATE TABLE t2 (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE t2;\n' > migrations/002_t2.sql
	dbs --env dev migrate
	check_rc 0 "$tag: dev (no promote_from) migrates"
	local before; before=$(snapshot "$prod")
	dbs --env prod migrate
	check_rc 3 "$tag: prod refuses what staging has not applied"
	check_contains "$ERR" "promote_from = staging: 2 of the migrations to apply are not applied there: 001_t1 (pending), 002_t2 (pending)" \
		"$tag: it names what is missing upstream"
	dbs --env prod release
	check_rc 3 "$tag: a release refuses too"
	check_eq "$(ls backups 2>/dev/null | wc -l)" 0 "$tag: before its first step (no backup taken)"
	check_eq "$(snapshot "$prod")" "$before" "$tag: prod is unchanged"
	check_eq "$(snapshot "$stg" | grep -c t1)" 0 "$tag: staging was only read"

	dbs --env staging migrate 001
	check_rc 0 "$tag: staging takes 001 (dev has it)"
	dbs --env prod --json status --promotion
	check_rc 0 "$tag: status --promotion"
	json_valid "$tag: status --promotion --json is valid"
	check_eq "$(echo "$OUT" | jq -r '[.chain[].environment] | join(" ")')" "staging dev" "$tag: the chain, hop by hop"
	check_eq "$(echo "$OUT" | jq -r '.migrations[] | "\(.migration) \(.here) \(.upstream | join(" "))"')" "001_t1 pending applied applied
002_t2 pending pending applied" "$tag: where each migration is applied along it"
	dbs --env prod status --promotion
	check_eq "$(echo "$OUT" | sed -n '/^MIGRATION/,$p' | tr -s ' ')" "MIGRATION prod staging dev 
001_t1 pending applied applied 
002_t2 pending pending applied " "$tag: and as a table, a column per environment"
	check_lacks "$OUT" "$PG_PASSWORD" "$tag: with no password"
	dbs --env prod migrate
	check_rc 3 "$tag: prod still refuses 002"
	check_contains "$ERR" "1 of the migrations to apply is not applied there: 002_t2 (pending)" "$tag: only 002 is missing"
	dbs --env prod migrate 001
	check_rc 0 "$tag: prod takes what staging has"

	# a migration changed since staging applied it is not the one promoted
	dbs --env staging migrate
	printf -- '-- migrate:up\nCREATE TABLE t2 (id int PRIMARY KEY, v text);\n-- migrate:down\nDROP TABLE t2;\n' > migrations/002_t2.sql
	dbs --env prod migrate
	check_rc 3 "$tag: a changed checksum upstream is refused"
	check_contains "$ERR" "002_t2 (changed)" "$tag: and named as changed"
	dbs --env prod migrate --force
	check_rc 0 "$tag: --force passes"
	check_contains "$ERR" "warning: --force: applying what staging has not applied: 002_t2 (changed)" "$tag: with a warning"
	local report; report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '.promotion | [.from, .forced, .missing]' "$report")" '["staging",true,[{"migration":"002_t2","there":"changed"}]]' \
		"$tag: and the report records it"

	printf '[env "prod"]\ndatabase = %s\npromote_from = nosuch\n' "$prod" > dbshift.conf
	printf -- '-- migrate:up\nCREATE TABLE t3 (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE t3;\n' > migrations/003_t3.sql
	dbs --env prod migrate
	check_rc 2 "$tag: promote_from naming no environment is an input error"
	check_contains "$ERR" "promote_from = nosuch: no environment 'nosuch'" "$tag: it says which"
	printf '[env "dev"]\ndatabase = %s\n[env "a"]\ndatabase = %s\npromote_from = b\n[env "b"]\ndatabase = %s\npromote_from = a\n' \
		"$dev" "$stg" "$prod" > dbshift.conf
	dbs --env a status --promotion
	check_rc 2 "$tag: a promote_from circle is an input error"
	check_contains "$ERR" "promote_from goes round in a circle at environment a" "$tag: naming where"
	dbs --env dev status --promotion
	check_rc 2 "$tag: status --promotion without promote_from is an input error"
	check_contains "$ERR" "no promote_from for environment dev" "$tag: it says so"
	check_contains "$ERR" "set promote_from = ENV in [env \"NAME\"]" "$tag: and what to do"
	rm dbshift.conf
	cd "$WORK" || return
}

# scratches URL: the rehearsals' scratch databases left beside the database, a line each
scratches() {
	case "$1" in
	sqlite:*) (cd "$(dirname "${1#sqlite:}")" && ls -1 | grep -F "$(basename "${1#sqlite:}").dbshift_rehearse_" | grep -v -e '-journal$' -e '-wal$' -e '-shm$') ;;
	*) psql -X -A -t "$PG_ADMIN_URL" -c "SELECT datname FROM pg_database WHERE datname LIKE 'dbshift\_rehearse\_%' ORDER BY 1" ;;
	esac
}

t_rehearse() {
	project rehearse
	local url; url=$(newdb rehearse) tag="$DRIVER rehearse"
	mkdir assertions
	printf -- '-- migrate:up\nCREATE TABLE items (id int PRIMARY KEY, v text NOT NULL);\nINSERT INTO items VALUES (1, '"'a'"'), (2, '"'b'"'), (3, '"'c'"');\n-- migrate:down\nDROP TABLE items;\n' > migrations/1_items.sql
	printf -- '-- migrate:up\nCREATE INDEX items_v ON items (v);\nUPDATE items SET v = upper(v) WHERE id < 3;\n-- migrate:down\nDROP INDEX items_v;\n' > migrations/2_index.sql
	printf -- '-- dbshift:invariant\nSELECT count(*) FROM items\n' > assertions/count.sql
	dbs --database "$url" migrate 1
	check_rc 0 "$tag: a first migration"
	printf '[dbshift]\nrequire_rehearsal = 1h\n' > dbshift.conf
	dbs --database "$url" rehearse
	check_rc 3 "$tag: no backup to rehearse on is refused"
	check_contains "$ERR" "no backup of this database to rehearse on" "$tag: it says so"
	dbs --database "$url" migrate
	check_rc 3 "$tag: require_rehearsal refuses a plan never rehearsed"
	check_contains "$ERR" "require_rehearsal = 1h: no successful rehearsal of this plan (1 migration) in the last 1h: there is none" \
		"$tag: and says why"
	dbs --database "$url" backup
	check_rc 0 "$tag: a backup to rehearse on"
	local runs_before; runs_before=$(sql "$url" "SELECT count(*) FROM dbshift_runs")
	local hist_before; hist_before=$(sql "$url" "SELECT version, status, checksum FROM dbshift_migrations ORDER BY version")
	dbs --database "$url" --json rehearse
	check_rc 0 "$tag: rehearse"
	json_valid "$tag: its --json is valid"
	check_eq "$(echo "$OUT" | jq -c '[.status, .way, (.migrations[] | [.migration, .status, .rows_changed]), (.assertions[] | [.name, .status])]')" \
		'["succeeded","migrate",["2_index up","succeeded",2],["count","pass"]]' "$tag: each migration, the rows it changed, the invariants held"
	if [ "$DRIVER" = postgres ]; then
		check_eq "$(echo "$OUT" | jq -r '.migrations[0].locks[0] | "\(.mode) \(.tables | join(",")) \(.blocks)"')" "SHARE items writes" \
			"$tag: the lock CREATE INDEX took, against writes"
		check_eq "$(echo "$OUT" | jq -r '.downtime.lock.mode')" "SHARE" "$tag: is the downtime"
	else
		check_eq "$(echo "$OUT" | jq -r '.migrations[0].locks[0] | "\(.mode) \(.scope) \(.blocks)"')" "write database writes" \
			"$tag: the write transaction held the database"
	fi
	check_eq "$(echo "$OUT" | jq -r '.downtime_ms >= 0 and (.plan_id | length) == 64')" true "$tag: the downtime and the plan's identity"
	check_eq "$(sql "$url" "SELECT version, status, checksum FROM dbshift_migrations ORDER BY version")" "$hist_before" "$tag: the live history is unchanged"
	check_eq "$(table_exists "$url" items)$(sql "$url" "SELECT v FROM items WHERE id = 1")" "1a" "$tag: the live data is unchanged"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_runs")" "$((runs_before + 1))" "$tag: one row in dbshift_runs records it"
	check_eq "$(scratches "$url")" "" "$tag: no scratch database is left"

	dbs --database "$url" migrate
	check_rc 0 "$tag: require_rehearsal passes a plan rehearsed"
	local report; report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -r '.rehearsal.rehearsal != null' "$report")" true "$tag: and the report names the rehearsal"

	# a changed plan is refused, naming what changed
	printf -- '-- migrate:up\nALTER TABLE items ADD COLUMN n int NOT NULL DEFAULT 0;\n-- migrate:down\nALTER TABLE items DROP COLUMN n;\n' > migrations/3_n.sql
	dbs --database "$url" migrate
	check_rc 3 "$tag: a plan changed since its rehearsal is refused"
	check_contains "$ERR" "ran another plan: 3_n was not rehearsed, 2_index is no longer in the plan" "$tag: naming the migrations"
	dbs --database "$url" migrate --force
	check_rc 0 "$tag: --force passes"
	check_contains "$ERR" "warning: --force: applying a plan not rehearsed" "$tag: with a warning"

	# a failing rehearsal: exit 1 at file:line, the live database as it was, no scratch
	printf -- '-- migrate:up\nUPDATE items SET n = 2;\nINSERT INTO items (id, v) VALUES (1, '"'dup'"');\n-- migrate:down\nSELECT 1;\n' > migrations/4_bad.sql
	dbs --database "$url" backup
	hist_before=$(sql "$url" "SELECT version, status FROM dbshift_migrations ORDER BY version")
	dbs --database "$url" rehearse
	check_rc 1 "$tag: a failing rehearsal fails"
	check_contains "$ERR" "4_bad.sql:3:" "$tag: naming file:line"
	check_eq "$(sql "$url" "SELECT version, status FROM dbshift_migrations ORDER BY version")" "$hist_before" "$tag: the live history is as it was"
	check_eq "$(scratches "$url")" "" "$tag: and no scratch is left"

	# --keep keeps it (and a later rehearsal leaves it alone)
	printf -- '-- migrate:up\nUPDATE items SET n = 1;\n-- migrate:down\nSELECT 1;\n' > migrations/4_bad.sql
	dbs --database "$url" rehearse --keep
	check_rc 0 "$tag: rehearse --keep"
	check_eq "$(scratches "$url" | wc -l)" 1 "$tag: keeps its scratch"
	check_contains "$OUT" "kept the scratch database: " "$tag: and says where"
	local kept; kept=$(scratches "$url")

	# killed in the middle: the next rehearsal drops what it left
	if [ "$DRIVER" = postgres ]; then
		printf -- '-- migrate:up\nSELECT pg_sleep(3600);\n-- migrate:down\nSELECT 1;\n' > migrations/5_slow.sql
	else
		printf -- '-- migrate:up\nCREATE TABLE slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c;\n-- migrate:down\nDROP TABLE slow;\n' > migrations/5_slow.sql
	fi
	"$DBSHIFT" --database "$url" rehearse >/dev/null 2>&1 &
	local pid=$! i=0 seen=0
	while [ $i -lt 600 ] && kill -0 $pid 2>/dev/null; do
		grep -q "5_slow up: started" logs/dbshift.log 2>/dev/null && [ "$(scratches "$url" | wc -l)" = 2 ] && seen=1
		if [ $seen = 1 ] && [ "$DRIVER" = postgres ]; then
			[ "$(psql -X -A -t "$PG_ADMIN_URL" -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3600)%' AND state = 'active' AND pid <> pg_backend_pid()")" = 1 ] || seen=0
		fi
		[ $seen = 1 ] && break
		sleep 0.1; i=$((i + 1))
	done
	check_eq "$seen" 1 "$tag: the rehearsal was seen running its slow migration"
	kill -9 $pid
	wait $pid 2>/dev/null
	check_eq "$(scratches "$url" | wc -l)" 2 "$tag: killed, it left its scratch"
	rm migrations/5_slow.sql
	dbs --database "$url" --json rehearse
	check_rc 0 "$tag: the next rehearsal runs"
	check_eq "$(echo "$OUT" | jq -r '.scratches_dropped | length')" 1 "$tag: and drops what the killed one left"
	check_eq "$(scratches "$url")" "$kept" "$tag: only the kept one is left"
	if [ "$DRIVER" = postgres ]; then
		sql "$PG_ADMIN_URL" "DROP DATABASE \"$kept\"" >/dev/null
	else
		rm -f "$(dirname "${url#sqlite:}")/$kept"
	fi

	# the release step rehearse answers require_rehearsal for its migrate step
	printf '[release]\nsteps = backup rehearse migrate\n' >> dbshift.conf
	dbs --database "$url" release
	check_rc 0 "$tag: a release that rehearses first migrates"
	check_contains "$OUT" "rehearse           succeeded" "$tag: its rehearse step ran"
	check_eq "$(sql "$url" "SELECT status FROM dbshift_migrations WHERE version = '4'")" "applied" "$tag: and so did its migrate step"
	check_eq "$(scratches "$url")" "" "$tag: leaving no scratch"
	rm dbshift.conf
	cd "$WORK" || return
}

t_doctor_memory() {
	project doctor_memory
	local url; url=$(newdb doctor_memory) tag="$DRIVER doctor memory"
	printf -- '-- migrate:up\nCREATE TABLE big (id int PRIMARY KEY, v text);\nINSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 50000) g;\n-- migrate:down\nDROP TABLE big;\n' > migrations/1_big.sql
	printf -- '-- migrate:up\nCREATE INDEX big_v ON big (v);\n-- migrate:down\nDROP INDEX big_v;\n' > migrations/2_index.sql
	dbs --database "$url" migrate 1
	check_rc 0 "$tag: a table with rows"
	local db=${url##*/}
	sql "$url" "ALTER DATABASE $db SET maintenance_work_mem = '1MB'" >/dev/null
	dbs --database "$url" --json doctor
	check_eq "$(echo "$OUT" | jq -r '.checks[] | select(.check == "memory") | .status')" "pass" "$tag: the host's memory is enough for a backup"
	check_eq "$(echo "$OUT" | jq -r '.checks[] | select(.check == "index-memory") | .status')" "warn" \
		"$tag: an index on a table bigger than maintenance_work_mem is a warning"
	check_contains "$(echo "$OUT" | jq -r '.checks[] | select(.check == "index-memory") | .message')" \
		"the biggest table a pending migration indexes is big (migrations/2_index.sql:2)" "$tag: naming the table and the statement"
	check_contains "$(echo "$OUT" | jq -r '.checks[] | select(.check == "index-memory") | .message')" \
		"maintenance_work_mem is 1.0 MB: the build sorts on disk" "$tag: and the setting"
	sql "$url" "ALTER DATABASE $db SET maintenance_work_mem = '256MB'" >/dev/null
	dbs --database "$url" --json doctor
	check_eq "$(echo "$OUT" | jq -r '.checks[] | select(.check == "index-memory") | .status')" "pass" \
		"$tag: it passes when the table fits"
	cd "$WORK" || return
}
