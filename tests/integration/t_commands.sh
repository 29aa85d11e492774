# t_commands.sh - new, plan, dry runs, redo, baseline, --json everywhere,
# and where options come from (config file, environment, command line).

t_commands() {
	project commands
	local url; url=$(newdb commands) tag="$DRIVER commands"

	dbs new create_widgets
	check_rc 0 "$tag: new exits 0"
	local f; f=$(ls migrations)
	check_contains "$f" "_create_widgets.sql" "$tag: new names the file <version>_<name>.sql"
	check_eq "$(cat "migrations/$f")" "-- migrate:up


-- migrate:down" "$tag: new writes up and down sections"
	dbs --json new more_widgets
	check_eq "$(echo "$OUT" | jq -r '.file' | sed 's/[0-9]\{14\}/V/')" "migrations/V_more_widgets.sql" "$tag: new --json names the file"
	dbs new "bad name"
	check_rc 2 "$tag: new refuses a bad name"
	rm -f migrations/*

	good_migration 1_one.sql one
	good_migration 2_two.sql two
	dbs --database "$url" plan
	check_rc 0 "$tag: plan exits 0"
	local lock="ACCESS EXCLUSIVE"
	[ "$DRIVER" = sqlite ] && lock="database write"
	check_eq "$OUT" "up   1_one (score 1, green)
    2:1 green  CREATE TABLE, $lock lock on one
        CREATE TABLE one (id bigint PRIMARY KEY)
up   2_two (score 1, green)
    2:1 green  CREATE TABLE, $lock lock on two
        CREATE TABLE two (id bigint PRIMARY KEY)
risk: low (worst finding green; score 2 in all, 1 at most in one migration): safe to run during normal traffic; keep a lock_timeout set" "$tag: plan shows steps, each statement's level and lock, and the SQL"
	check_eq "$(table_exists "$url" dbshift_migrations)" "0" "$tag: plan creates nothing"

	dbs --database "$url" migrate --dry-run 1
	check_eq "$OUT" "up   1_one (score 1, green)
    2:1 green  CREATE TABLE, $lock lock on one
risk: low (worst finding green; score 1 in all, 1 at most in one migration): safe to run during normal traffic; keep a lock_timeout set" "$tag: migrate --dry-run TARGET"
	check_eq "$(table_exists "$url" one)" "0" "$tag: dry run changes nothing"

	dbs --database "$url" migrate 1
	check_rc 0 "$tag: migrate TARGET"
	check_eq "$(sql "$url" "SELECT version FROM dbshift_migrations")" "1" "$tag: migrate TARGET stops there"
	dbs --database "$url" migrate
	# applied_at reads the same on both drivers: RFC 3339, fraction kept
	sql "$url" "UPDATE dbshift_migrations SET applied_at = '2026-11-22 06:26:38.25+00' WHERE version = '2'" >/dev/null
	dbs --database "$url" status
	check_eq "$(echo "$OUT" | awk '/^[12]_/ {print $1, $4}' | sed -E 's/^1_one [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/1_one RFC3339/')" "1_one RFC3339
2_two 2026-11-22T06:26:38.25Z" "$tag: status shows applied_at in RFC 3339"
	check_eq "$(echo "$OUT" | grep -c '^2_two .*2026-11-22T06:26:38.25Z  *[0-9]* ms')" "1" "$tag: status widens APPLIED AT for a fraction"
	dbs --database "$url" --json plan --rollback --steps 2
	check_eq "$(echo "$OUT" | jq -r '[.steps[] | "\(.direction) \(.version)"] | join(",")')" "down 2,down 1" "$tag: plan --rollback --steps 2"

	dbs --database "$url" --json redo
	check_rc 0 "$tag: redo exits 0"
	check_eq "$(echo "$OUT" | jq -r '[.steps[] | "\(.action) \(.version)"] | join(",")')" "down 2,up 2" "$tag: redo is down then up of the last"
	check_eq "$(table_exists "$url" two)" "1" "$tag: redo leaves it applied"

	dbs --database "$url" rollback --steps 2
	check_rc 0 "$tag: rollback --steps 2"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")" "0" "$tag: both undone"

	# baseline: an existing database adopts its history
	sql "$url" "CREATE TABLE one (id bigint PRIMARY KEY)" >/dev/null
	dbs --database "$url" baseline 1
	check_rc 0 "$tag: baseline exits 0"
	check_eq "$(echo "$OUT" | sed 's/^run [0-9TZ.-]*, report reports\/[0-9TZ.-]*\.json$/run ID, report FILE/')" "recorded     1_one
mark as applied (baseline): 1 migration
run ID, report FILE" "$tag: baseline output"
	dbs --database "$url" --json migrate
	check_eq "$(echo "$OUT" | jq -r '[.steps[] | "\(.action) \(.version)"] | join(",")')" "up 2" "$tag: after baseline only the rest runs"

	# --json on every command is one valid document
	for c in status plan "migrate" "rollback --dry-run" "repair"; do
		# shellcheck disable=SC2086
		dbs --database "$url" --json $c
		if echo "$OUT" | jq -e . >/dev/null 2>&1; then ok "$tag: --json $c is JSON"; else not_ok "$tag: --json $c is JSON" "$OUT"; fi
	done
	dbs --database "$url" --json migrate 99
	check_eq "$(echo "$OUT" | jq -r '.error.message')" "no migration 99" "$tag: --json carries errors"

	# options: config file < environment < command line
	local url2; url2=$(newdb commands2)
	printf '[dbshift]\ndir = elsewhere\ndatabase = %s\nlock_wait = 5s\n\n[env "ci"]\ndatabase = %s\n' "$url" "$url2" > dbshift.conf
	mkdir -p elsewhere && good_migration 1_one.sql one && mv migrations/1_one.sql elsewhere/
	dbs --json status
	check_eq "$(echo "$OUT" | jq -r '[.migrations[] | "\(.version):\(.state):\(.file)"] | join(",")')" "1:applied:elsewhere/1_one.sql,2:missing:null" "$tag: config file sets dir"
	check_eq "$(echo "$OUT" | jq -r '.database' | sed 's/:[^:@/]*@/@/')" "$(echo "$url" | sed 's/:[^:@/]*@/@/')" "$tag: config file sets database"
	dbs --env ci --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[0].state')" "pending" "$tag: --env selects the environment's database"
	DBSHIFT_ENV=ci dbs --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[0].state')" "pending" "$tag: DBSHIFT_ENV selects it too"
	DATABASE_URL=$url2 dbs --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[0].state')" "pending" "$tag: DATABASE_URL beats the config file"
	DATABASE_URL=$url2 dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | jq -r '.migrations[0].state')" "applied" "$tag: --database beats DATABASE_URL"
	dbs --env nope status
	check_rc 2 "$tag: an unknown environment is an input error"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: no environment 'nope' in dbshift.conf" "$tag: unknown environment message"
	cd "$WORK" || return
}
