# t_django.sh - framework = django: the example project (examples/django,
# two apps, six migrations: a model, a nullable field, an index, RunPython,
# a field removal, an app depending on the other) read and run through its
# own manage.py by Debian's Django; status, plan, the risk gate, a failing
# migration, rollback per app and to zero, two migrators at once, and a
# project whose settings name another database than dbshift's.

# dj ARGS...: dbshift on the Django project, Django's settings reading the
# same database from DATABASE_URL.
dj() {
	DATABASE_URL="$DJ_URL" dbs --database "$DJ_URL" "$@"
}

dj_applied() {  # the rows of django_migrations, "app.name" each, in order
	sql "$DJ_URL" "SELECT app || '.' || name FROM django_migrations ORDER BY id" | tr '\n' ' '
}

t_django() {
	project django
	DJ_URL=$(newdb django)
	local tag="$DRIVER django"
	cp -r "$HERE/../../examples/django/." .
	rm -f dbshift.conf db.sqlite3
	printf '[dbshift]\nframework = django\nmanage = /usr/bin/python3 manage.py\n' > dbshift.conf

	dj --json status
	check_rc 0 "$tag: status"
	check_eq "$(printf '%s' "$OUT" | jq -r '.migrations | map(.app + "/" + .version + " " + .state) | join(",")')" \
		"shop/0001_initial pending,shop/0002_item_note pending,crm/0001_initial pending,shop/0003_item_name_idx pending,shop/0004_fill_note pending,shop/0005_remove_item_legacy pending" \
		"$tag: every migration pending, in Django's order"

	dj --json plan
	check_rc 0 "$tag: plan"
	check_eq "$(printf '%s' "$OUT" | jq -r '.steps | map(select(.version >= "0004") | .app + "/" + .version + " " + .level) | join(",")')" \
		"shop/0004_fill_note red,shop/0005_remove_item_legacy green" \
		"$tag: the RunPython red; the removal green (its table is made by this plan's 0001)"
	check_eq "$(printf '%s' "$OUT" | jq -r '.steps[4].statements | map(.kind + ": " + .sql + " [" + (.findings | map(.rule) | join(",")) + "] " + (.score | tostring)) | join(";")')" \
		"opaque data change: RunPython shop.migrations.0004_fill_note.fill [opaque-operation] 20" \
		"$tag: RunPython shown as an opaque data change named by its function, scored highest"
	check_contains "$(printf '%s' "$OUT" | jq -r '.steps[0].sql')" 'CREATE TABLE "shop_item"' "$tag: the SQL Django would run"
	check_eq "$(printf '%s' "$OUT" | jq -r '.steps[0].sql_file')" "shop.0001_initial" "$tag: named as Django names it"

	# Django's settings and dbshift must name one database
	local other; other=$(newdb django_other)
	DATABASE_URL="$DJ_URL" dbs --database "$other" migrate --force
	check_rc 2 "$tag: another database than Django's is refused"
	check_contains "$ERR" "django's settings point at another database than dbshift's" "$tag: saying so"
	check_eq "$(table_exists "$DJ_URL" django_migrations)$(table_exists "$other" django_migrations)" "00" "$tag: and nothing ran on either"

	# the gate: max_risk = yellow refuses RunPython and the removal
	printf 'max_risk = yellow\n' >> dbshift.conf
	dj migrate shop:0004_fill_note
	check_rc 3 "$tag: max_risk = yellow refuses the RunPython"
	check_eq "$(table_exists "$DJ_URL" django_migrations)" "0" "$tag: nothing applied"
	dj migrate shop:0004_fill_note --force
	check_rc 0 "$tag: --force applies up to shop:0004_fill_note"
	check_eq "$(dj_applied)" "shop.0001_initial shop.0002_item_note shop.0003_item_name_idx shop.0004_fill_note " \
		"$tag: one at a time, recorded by Django"
	dj migrate
	check_rc 3 "$tag: max_risk = yellow refuses the removal"
	check_contains "$ERR" "0005_remove_item_legacy" "$tag: naming it"
	check_eq "$(dj_applied)" "shop.0001_initial shop.0002_item_note shop.0003_item_name_idx shop.0004_fill_note " \
		"$tag: django_migrations unchanged"
	dj migrate --force
	check_rc 0 "$tag: --force applies the rest"
	sed -i '/^max_risk/d' dbshift.conf
	dj --json status
	check_eq "$(printf '%s' "$OUT" | jq -r '[.migrations[] | select(.state == "applied" and .applied_by == "django" and (.applied_at | length) > 0)] | length')" \
		"6" "$tag: status after: all applied, with the time Django recorded"

	# a failing migration: the one before it stays applied, it is not recorded
	dj rollback shop --steps 1
	check_rc 0 "$tag: rollback shop --steps 1"
	check_eq "$(sql "$DJ_URL" "SELECT count(*) FROM django_migrations WHERE name = '0005_remove_item_legacy'")" "0" "$tag: undoes shop's last"
	sql "$DJ_URL" "INSERT INTO shop_item (name, legacy, note) VALUES ('a', '', NULL), ('a', '', NULL)" >/dev/null
	cp "$HERE/../django/0006_item_name_unique.py" shop/migrations/
	dj migrate --force
	check_rc 1 "$tag: a migration that existing rows violate fails"
	check_contains "$ERR" "error: Django could not apply shop.0006_item_name_unique: django.db.utils.IntegrityError: " \
		"$tag: with Django's error"
	check_eq "$(dj_applied | tr ' ' '\n' | grep -c -e 0005_remove_item_legacy -e 0006_item_name_unique)" "1" \
		"$tag: the one before it applied, the failed one not recorded"
	rm shop/migrations/0006_item_name_unique.py

	# rollback by target and to zero, app by app
	dj rollback shop:0003_item_name_idx
	check_rc 0 "$tag: rollback shop:0003_item_name_idx"
	check_eq "$(dj_applied)" "shop.0001_initial shop.0002_item_note shop.0003_item_name_idx crm.0001_initial " \
		"$tag: shop's later ones undone, crm's kept"
	dj rollback shop:zero
	check_rc 0 "$tag: rollback shop:zero"
	check_eq "$(dj_applied)" "" "$tag: crm (which needs shop) undone first, then shop"
	check_eq "$(table_exists "$DJ_URL" shop_item)$(table_exists "$DJ_URL" crm_customer)" "00" "$tag: their tables gone"

	# two migrators at once: each migration applied once
	DATABASE_URL="$DJ_URL" "$DBSHIFT" --database "$DJ_URL" --json migrate --force > "$WORK/dj1.json" 2>"$WORK/dj1.err" &
	local p1=$!
	DATABASE_URL="$DJ_URL" "$DBSHIFT" --database "$DJ_URL" --json migrate --force > "$WORK/dj2.json" 2>"$WORK/dj2.err" &
	local p2=$! rc1 rc2
	wait "$p1"; rc1=$?
	wait "$p2"; rc2=$?
	check_eq "$rc1 $rc2$([ "$rc1$rc2" = 00 ] || grep -h -A3 'error' "$WORK/dj1.err" "$WORK/dj2.err")" "0 0" \
		"$tag: two concurrent migrates both succeed"
	check_eq "$(jq -s 'map(.steps | map(select(.status == "succeeded")) | length) | add' "$WORK/dj1.json" "$WORK/dj2.json")" \
		"6" "$tag: six migrations applied between them"
	check_eq "$(sql "$DJ_URL" "SELECT count(*), count(DISTINCT app || name) FROM django_migrations")" "6|6" \
		"$tag: each once"

	dj new thing
	check_rc 2 "$tag: new is refused (makemigrations makes Django's)"

	t_django_one_run
	t_django_graph
	cd "$WORK/django" || return

	# manage.py that hangs is killed at manage_timeout
	printf 'import time\ntime.sleep(60)\n' > hang.py
	printf '[dbshift]\nframework = django\nmanage = /usr/bin/python3 hang.py\nmanage_timeout = 500ms\n' > dbshift.conf
	dj status
	check_rc 1 "$tag: a manage.py past manage_timeout fails the command"
	check_contains "$ERR" "/usr/bin/python3 ran past its timeout of 500 ms and was killed" "$tag: saying so"
	cd "$WORK" || return
}

# Every pending migration in one manage.py migrate: a project's own migrate
# command (which needs the final schema) runs once, after all of them;
# dbshift's lock_timeout reaches Django's connection (PGOPTIONS).
t_django_one_run() {
	local tag="$DRIVER django one run"
	DJ_URL=$(newdb django_one)
	mkdir -p crm/management/commands
	touch crm/management/__init__.py crm/management/commands/__init__.py
	cat > crm/management/commands/migrate.py <<'EOF'
"""The project's migrate: Django's, then a check that needs the final schema."""
import os
from django.core.management.commands.migrate import Command as Migrate
from django.db import connection


class Command(Migrate):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        with connection.cursor() as c:
            cols = [d.name for d in connection.introspection.get_table_description(c, "shop_item")]
        if "legacy" in cols:
            raise RuntimeError("shop_item still has legacy: the schema is not final")
        with open(os.environ["OVERRIDE_LOG"], "a") as f:
            f.write("ran\n")
EOF
	printf '[dbshift]\nframework = django\nmanage = /usr/bin/python3 manage.py\n' > dbshift.conf
	export OVERRIDE_LOG=$WORK/override.log
	rm -f "$OVERRIDE_LOG"
	dj --json migrate --force
	check_rc 0 "$tag: migrate from empty exits 0"
	check_eq "$(printf '%s' "$OUT" | jq -r '[.steps[] | select(.status == "succeeded") | .app + "/" + .version] | join(",")')" \
		"shop/0001_initial,shop/0002_item_note,crm/0001_initial,shop/0003_item_name_idx,shop/0004_fill_note,shop/0005_remove_item_legacy" "$tag: each migration a step of the run, in Django's order"
	check_eq "$(cat "$OVERRIDE_LOG" 2>/dev/null)" "ran" "$tag: the project's migrate command ran once, on the final schema"
	check_eq "$(sql "$DJ_URL" "SELECT count(*) FROM django_migrations")" "6" "$tag: Django recorded the six"
	# a noop reverse does nothing: not red
	dj --json plan shop:0003_item_name_idx --rollback
	check_rc 0 "$tag: plan --rollback to shop:0003"
	check_eq "$(printf '%s' "$OUT" | jq -r '.steps[] | select((.version | startswith("0004"))) | .level + " " + (.statements | map(.kind + ": " + .sql + " " + (.score | tostring)) | join(";"))')" \
		"green no-op: RunPython noop (does nothing) 0" "$tag: the noop reverse of 0004 is a green no-op"
	# drift: dbshift keeps each applied file's SHA-256 in its own table
	check_eq "$(sql "$DJ_URL" "SELECT count(*) FROM dbshift_migrations WHERE length(checksum) = 64")" "6" \
		"$tag: the six files' SHA-256 kept"
	printf '# edited after it was applied\n' >> shop/migrations/0002_item_note.py
	dj --json status
	check_eq "$(printf '%s' "$OUT" | jq -r '[.migrations[] | select(.state == "drifted") | .app + "/" + .version] | join(",")')" \
		"shop/0002_item_note" "$tag: an applied file edited since is drifted"
	dj migrate --force
	check_rc 3 "$tag: migrate refuses while it is drifted"
	check_contains "$ERR" "migration shop/0002_item_note was changed after it was applied" "$tag: naming it"
	check_contains "$ERR" "HINT: restore the file as it was applied, or run with --allow-drift" \
		"$tag: the hint names no repair (not Django's)"
	sed -i '$d' shop/migrations/0002_item_note.py
	dj --json status
	check_eq "$(printf '%s' "$OUT" | jq -r '[.migrations[] | .state] | unique | join(",")')" "applied" \
		"$tag: the file as it was: applied again"
	# adopt keeps the checksums of what Django applied without dbshift
	dj adopt
	check_eq "$OUT" "nothing to adopt: dbshift keeps the checksum of every applied django migration's file" \
		"$tag: adopt: nothing to take when dbshift applied them all"
	sql "$DJ_URL" "DELETE FROM dbshift_migrations WHERE app = 'crm'" >/dev/null
	dj adopt
	check_rc 0 "$tag: adopt (dry run) exits 0"
	check_contains "$OUT" "  crm/0001_initial " "$tag: it lists the migration applied without a checksum"
	dj adopt --yes
	check_rc 0 "$tag: adopt --yes exits 0"
	check_eq "$(sql "$DJ_URL" "SELECT app || ' ' || length(checksum) || ' ' || message FROM dbshift_migrations WHERE app = 'crm'")" \
		"crm 64 adopted: the file as it was then" "$tag: the file's SHA-256 is kept from now on"
	printf '# edited\n' >> crm/migrations/0001_initial.py
	dj --json status
	check_eq "$(printf '%s' "$OUT" | jq -r '[.migrations[] | select(.state == "drifted") | .app + "/" + .version] | join(",")')" \
		"crm/0001_initial" "$tag: an adopted file edited since is drifted"
	sed -i '$d' crm/migrations/0001_initial.py
	# a non-atomic migration that fails half-way: its first statements stay
	printf 'from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    atomic = False\n    dependencies = [("shop", "0005_remove_item_legacy")]\n    operations = [migrations.RunSQL("ALTER TABLE shop_item ADD COLUMN half integer", migrations.RunSQL.noop),\n                  migrations.RunSQL("SELECT * FROM no_such_table", migrations.RunSQL.noop)]\n' \
		> shop/migrations/0006_half.py
	dj migrate --force
	check_rc 1 "$tag: a non-atomic migration that fails half-way: exit 1"
	if [ "$DRIVER" = postgres ]; then  # (the server quotes the statement that failed)
		check_contains "$ERR" "HINT: shop.0006_half is not atomic (atomic = False): Django recorded nothing, and the 1 statement before the one that failed ('SELECT * FROM no_such_table;') ran and stays (ALTER TABLE shop_item ADD COLUMN half integer;); finish or undo it by hand" \
			"$tag: the error says which statements ran and stay, never that it was rolled back"
	else
		check_contains "$ERR" "HINT: shop.0006_half is not atomic (atomic = False): its changes may be partly applied, as far as the statement that failed, and Django recorded nothing" \
			"$tag: the error says what may stay, never that it was rolled back"
	fi
	check_lacks "$ERR" "rolled back" "$tag: no rollback claimed"
	check_eq "$(sql "$DJ_URL" "SELECT count(*) FROM django_migrations WHERE name = '0006_half'")" "0" "$tag: not recorded"
	sql "$DJ_URL" "ALTER TABLE shop_item DROP COLUMN half" >/dev/null
	check_eq "$?" "0" "$tag: its first statement did run (the column was there)"
	rm shop/migrations/0006_half.py
	# a rollback runs the project's migrate too, which fails on this
	# schema: Django has undone 0005 by then, and dbshift says so
	dj rollback shop --steps 1
	check_rc 1 "$tag: rollback: the project's command fails after Django undid the migration"
	check_contains "$ERR" "dbshift: error: django undid shop.0005_remove_item_legacy (django's record says so), then failed: RuntimeError: shop_item still has legacy" \
		"$tag: the error says what Django did, then what failed"
	check_lacks "$ERR" "rolled back: the database is as it was" "$tag: no rollback is claimed"
	check_eq "$(sql "$DJ_URL" "SELECT count(*) FROM django_migrations WHERE name = '0005_remove_item_legacy'")" "0" \
		"$tag: 0005 is undone, as said"
	dj --json status
	check_eq "$(printf '%s' "$OUT" | jq -r '.migrations[] | select((.version | startswith("0005"))) | .state')" "pending" \
		"$tag: status says 0005 is pending"
	if [ "$DRIVER" = postgres ]; then
		printf 'lock_timeout = 1s\nlock_retries = 100ms\n' >> dbshift.conf
		pg_hold "$DJ_URL" "SELECT count(*) FROM shop_item"
		dj --json migrate --force
		check_rc 1 "$tag: a reader holding the table: migrate gives up (lock_timeout reaches Django)"
		check_eq "$(printf '%s' "$OUT" | jq -r '.steps[] | select(.status == "failed") | "\(.app)/\(.version) \(.attempts)"')" \
			"shop/0005_remove_item_legacy 2" "$tag: the migration that gave up, after its retry (lock_retries)"
		check_contains "$ERR" "attempt 1 of 2 gave up waiting for a lock" "$tag: the retry is said"
		check_contains "$(printf '%s' "$OUT" | jq -r .error.message)" "Django could not apply shop.0005_remove_item_legacy: " "$tag: naming the migration"
		check_contains "$(printf '%s' "$OUT" | jq -r .error.message)" "canceling statement due to lock timeout" "$tag: and the lock timeout"
		pg_release
		check_eq "$(sql "$DJ_URL" "SELECT count(*) FROM django_migrations WHERE name = '0005_remove_item_legacy'")" "0" \
			"$tag: nothing recorded"
		# the lock let go while the run waits to retry: the retry applies it
		sed -i 's/^lock_retries = .*/lock_retries = 3s, 3s, 3s/' dbshift.conf
		pg_hold "$DJ_URL" "SELECT count(*) FROM shop_item"
		DATABASE_URL="$DJ_URL" "$DBSHIFT" --database "$DJ_URL" --json migrate --force > "$WORK/djr.json" 2> "$WORK/djr.err" &
		local pid=$!
		until_ok 60 grep -qs "gave up waiting for a lock" "$WORK/djr.err"
		pg_release
		wait "$pid"
		check_eq "$?" "0" "$tag: a retry after the reader went applies the migration"
		check_eq "$(jq -r '.steps[] | "\(.app)/\(.version) \(.status) \(.attempts > 1)"' "$WORK/djr.json")" \
			"shop/0005_remove_item_legacy succeeded true" "$tag: one step, succeeded on a later attempt"
		check_eq "$(sql "$DJ_URL" "SELECT count(*) FROM django_migrations WHERE name = '0005_remove_item_legacy'")" "1" \
			"$tag: recorded once"
		# SQL that does not parse is an input error, not a red finding
		# that max_risk = red would let through
		printf 'from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [("shop", "0005_remove_item_legacy")]\n    operations = [migrations.RunSQL("SELEC 1", "SELECT 1")]\n' \
			> shop/migrations/0006_bad.py
		printf 'max_risk = red\n' >> dbshift.conf
		dj migrate
		check_rc 2 "$tag: Django's SQL that does not parse: exit 2"
		check_contains "$ERR" "dbshift: error: shop.0006_bad:5:1: the SQL django wrote for shop.0006_bad does not parse: syntax error at or near \"SELEC\"" \
			"$tag: naming the migration and the error"
		check_eq "$(sql "$DJ_URL" "SELECT count(*) FROM django_migrations")" "6" "$tag: nothing ran"
		rm shop/migrations/0006_bad.py
		# a NOT NULL field with a default: Django drops the default at once
		printf 'from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [("shop", "0005_remove_item_legacy")]\n    operations = [migrations.AddField("item", "qty", models.IntegerField(default=0)),\n                  migrations.AddIndex("item", models.Index(fields=["note"], name="shop_item_note_idx"))]\n' \
			> shop/migrations/0006_qty.py
		dj --json plan
		check_rc 0 "$tag: plan of an AddField with a default"
		check_eq "$(printf '%s' "$OUT" | jq -r '.steps[] | select((.version | startswith("0006"))) | .statements | map(.level + " " + (.findings | map(.rule) | join(","))) | join("; ")')" \
			"yellow add-column-not-null-default; yellow django-dropped-default; red index-not-concurrent" \
			"$tag: the DROP DEFAULT Django adds is a finding of its own"
		check_contains "$(printf '%s' "$OUT" | jq -r '.steps[] | select((.version | startswith("0006"))) | .statements[1].findings[0].message')" \
			"Django drops the default of \"shop_item\".\"qty\" right after adding it NOT NULL" "$tag: saying why"
		check_eq "$(printf '%s' "$OUT" | jq -r '.steps[] | select((.version | startswith("0006"))) | .statements[2].findings[0].fix')" \
			"AddIndexConcurrently (django.contrib.postgres.operations) in a migration with atomic = False" \
			"$tag: the fix in Django's terms"
		rm shop/migrations/0006_qty.py
	fi
	unset OVERRIDE_LOG
	rm -rf crm/management
}

# dj_schema URL: the tables and columns Django made (not dbshift's).
dj_schema() {
	case "$1" in
	sqlite:*) sql "$1" "SELECT name || ': ' || sql FROM sqlite_master WHERE name NOT LIKE 'dbshift%' AND name NOT LIKE 'sqlite%' ORDER BY name" ;;
	*) sql "$1" "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'dbshift%' ORDER BY 1" ;;
	esac
}

# The migrations `manage.py migrate ARGS --plan` lists, "app.name" each.
django_plan() {
	DATABASE_URL="$DJ_URL" /usr/bin/python3 manage.py migrate "$@" --plan | grep -v -e '^Planned operations:' -e '^    ' | tr '\n' ' '
}

# A project of four apps whose graph is no chain: alpha's two 0002s and
# their merge, beta's squash, RunPython with a reverse (a noop) and
# without, gamma after alpha's merge and delta after one of alpha's 0002s
# and beta's squash.  dbshift reads, plans and runs it as Django does.
t_django_graph() {
	local tag="$DRIVER django graph" before
	project django_graph
	cp -r "$HERE/../django/graph/." .
	printf '[dbshift]\nframework = django\nmanage = /usr/bin/python3 manage.py\n' > dbshift.conf
	DJ_URL=$(newdb django_graph)
	local ref; ref=$(newdb django_graph_ref)

	dj --json status
	check_rc 0 "$tag: status of a graph with a merge and a squash"
	check_eq "$(printf '%s' "$OUT" | jq -r '.migrations | map(.app + "/" + .version) | join(" ")')" \
		"alpha/0001_initial alpha/0002_account_phone alpha/0002_account_email alpha/0003_merge alpha/0004_fill beta/0001_squashed_0003_plan_tier delta/0001_initial delta/0002_backfill gamma/0001_initial gamma/0002_recount" \
		"$tag: every migration Django lists (the squash for what it replaces), in Django's order"

	dj migrate alpha:0002_account_email
	check_rc 0 "$tag: migrate to one branch of the merge"
	check_eq "$(dj_applied)" "alpha.0001_initial alpha.0002_account_email " "$tag: what Django's plan to it holds, no more"
	dj --json status
	check_eq "$(printf '%s' "$OUT" | jq -r '[.migrations[] | select(.state == "pending" and .out_of_order)] | length')" "0" \
		"$tag: the other branch is pending, not out of order"
	before=$(dj_applied)
	dj rollback alpha:9999
	check_rc 2 "$tag: a target Django does not have: exit 2"
	check_contains "$ERR" "dbshift: error: no migration alpha:9999" "$tag: naming it"
	check_contains "$ERR" "HINT: name a migration as Django does: APP:NAME" "$tag: and saying how to name one"
	dj migrate 0002
	check_rc 2 "$tag: a target without its app: exit 2"
	check_contains "$ERR" "name the app of '0002' (APP:NAME)" "$tag: saying the app is wanted"
	check_eq "$(dj_applied)" "$before" "$tag: and nothing changed"
	dj migrate alpha:0001_initial
	check_rc 2 "$tag: migrate to an applied migration with applied ones after it is refused"
	check_contains "$ERR" "migrate would undo alpha.0002_account_email" "$tag: saying what it would undo"
	check_contains "$ERR" "'dbshift rollback alpha:0001_initial' goes back to it" "$tag: and which command does"
	dj migrate
	check_rc 0 "$tag: migrate the rest"
	# the same two runs by Django itself
	DATABASE_URL="$ref" /usr/bin/python3 manage.py migrate alpha 0002_account_email --noinput >/dev/null 2>&1
	DATABASE_URL="$ref" /usr/bin/python3 manage.py migrate --noinput >/dev/null 2>&1
	check_eq "$(dj_schema "$DJ_URL")" "$(dj_schema "$ref")" "$tag: the schema manage.py migrate makes"
	check_eq "$(sql "$DJ_URL" "SELECT app || '.' || name FROM django_migrations ORDER BY 1" | tr '\n' ' ')" \
		"$(sql "$ref" "SELECT app || '.' || name FROM django_migrations ORDER BY 1" | tr '\n' ' ')" \
		"$tag: and the rows it records (the squash's and those it replaces)"
	dj --json status
	check_eq "$(printf '%s' "$OUT" | jq -r '"\([.migrations[].state] | unique | join(",")) \(.migrations | length)"')" \
		"applied 10" "$tag: all applied; the replaced rows are the squash's, not missing"

	# the last three applied, newest first, each by Django going back to
	# its parent: delta's 0002 is not gamma's dependant, yet one of the three
	dj --json plan --rollback --steps 3
	check_eq "$(printf '%s' "$OUT" | jq -r '.steps | map(.app + "." + .version) | join(" ")')" \
		"gamma.0002_recount gamma.0001_initial delta.0002_backfill" \
		"$tag: plan --rollback --steps 3 undoes the last three applied"
	# a rollback is Django's plan: dependants in other apps included
	local want; want=$(django_plan alpha 0002_account_phone)
	check_eq "$want" "gamma.0002_recount gamma.0001_initial alpha.0004_fill alpha.0003_merge " "$tag: (Django's own plan)"
	dj --json plan --rollback alpha:0002_account_phone
	check_rc 0 "$tag: plan --rollback alpha:0002_account_phone"
	check_eq "$(printf '%s' "$OUT" | jq -r '.steps | map(.app + "." + .version + " ") | join("")')" "$want" \
		"$tag: plan --rollback lists what manage.py migrate --plan lists, in its order"
	dj --json rollback alpha:0002_account_phone
	check_rc 0 "$tag: rollback alpha:0002_account_phone"
	check_eq "$(printf '%s' "$OUT" | jq -r '.steps | map(.app + "." + .version + " " + .action + " " + .status) | join(",")')" \
		"gamma.0002_recount down succeeded,gamma.0001_initial down succeeded,alpha.0004_fill down succeeded,alpha.0003_merge down succeeded" \
		"$tag: each step of Django's plan, done"
	check_eq "$(dj_applied | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ')" \
		"alpha.0001_initial alpha.0002_account_email alpha.0002_account_phone beta.0001_initial beta.0001_squashed_0003_plan_tier beta.0002_plan_price beta.0003_plan_tier delta.0001_initial delta.0002_backfill " \
		"$tag: exactly those undone"
	check_eq "$(table_exists "$DJ_URL" gamma_invoice)" "0" "$tag: gamma's table gone"

	# what Django cannot undo is refused before anything runs
	before=$(dj_applied)
	dj rollback delta:zero
	check_rc 3 "$tag: a RunPython without a reverse cannot be rolled back"
	check_contains "$ERR" "cannot roll back delta/0002_backfill: django cannot undo it" "$tag: naming it"
	check_eq "$(dj_applied)" "$before" "$tag: nothing undone"
	# after a failure, status is what django_migrations says
	printf 'from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [("gamma", "0002_recount")]\n    operations = [migrations.RunSQL("SELECT * FROM no_such_table", migrations.RunSQL.noop)]\n' \
		> gamma/migrations/0003_bad.py
	dj --json migrate
	check_rc 1 "$tag: a run that fails at its fifth migration"
	check_eq "$(printf '%s' "$OUT" | jq -r '.steps | map(.app + "." + .version + " " + .status) | join(",")')" \
		"alpha.0003_merge succeeded,alpha.0004_fill succeeded,gamma.0001_initial succeeded,gamma.0002_recount succeeded,gamma.0003_bad failed" \
		"$tag: the four before it done, it failed"
	dj --json status
	check_eq "$(printf '%s' "$OUT" | jq -r '.migrations[] | select(.state == "applied") | .app + "." + .version' | LC_ALL=C sort | tr '\n' ' ')" \
		"$(sql "$DJ_URL" "SELECT app || '.' || name FROM django_migrations WHERE app <> 'beta' OR name LIKE '%squashed%'" | LC_ALL=C sort | tr '\n' ' ')" \
		"$tag: status then says applied exactly what django_migrations holds (the squash for what it replaces)"
	check_eq "$(printf '%s' "$OUT" | jq -r '.migrations[] | select(.state != "applied") | .app + "." + .version + " " + .state')" \
		"gamma.0003_bad pending" "$tag: and the one that failed pending"
	rm gamma/migrations/0003_bad.py
	dj migrate
	check_rc 0 "$tag: migrate again"
	check_eq "$(sql "$DJ_URL" "SELECT count(*) FROM django_migrations")" "13" "$tag: all applied again"
}
