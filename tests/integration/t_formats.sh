# t_formats.sh - every migration layout, through migrate, status, rollback
# and rollback zero, on the driver under test.

steps_of() { jq -r '.steps[] | "\(.action) \(.app)\(if .app == "" then "" else "/" end)\(.version)_\(.name) \(.status)"'; }
states_of() { jq -r '.migrations[] | "\(.app)\(if .app == "" then "" else "/" end)\(.version) \(.state)"'; }

format_case() {
	local fmt=$1 v1=$2 v2=$3 v3=$4 n1=${5:-create_items} n2=${6:-add_price} n3=${7:-seed}
	project "fmt_$fmt" "$fmt"
	local url; url=$(newdb "fmt_$fmt")
	local tag="$DRIVER $fmt"

	dbs --database "$url" --json migrate
	check_rc 0 "$tag: migrate exits 0"
	check_eq "$(echo "$OUT" | steps_of)" "up ${v1}_$n1 succeeded
up ${v2}_$n2 succeeded
up ${v3}_$n3 succeeded" "$tag: migrate applies in numeric version order"
	check_eq "$(sql "$url" "SELECT id, title, price FROM items ORDER BY id")" "1|pen|150
2|ink; blue|300" "$tag: rows are there (a ';' inside a string stays whole)"

	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | states_of)" "$v1 applied
$v2 applied
$v3 applied" "$tag: status shows all applied"

	dbs --database "$url" rollback
	check_rc 0 "$tag: rollback exits 0"
	check_eq "$(sql "$url" "SELECT count(*) FROM items")" "0" "$tag: rollback undid the last one"
	dbs --database "$url" --json status
	check_eq "$(echo "$OUT" | states_of)" "$v1 applied
$v2 applied
$v3 pending" "$tag: status after rollback"

	dbs --database "$url" --json rollback zero
	check_rc 0 "$tag: rollback zero exits 0"
	check_eq "$(echo "$OUT" | steps_of)" "down ${v2}_$n2 succeeded
down ${v1}_$n1 succeeded" "$tag: rollback zero undoes in reverse order"
	check_eq "$(table_exists "$url" items)" "0" "$tag: table gone after zero"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations")" "0" "$tag: history empty after zero"
	check_eq "$(sql "$url" "SELECT command || ':' || status FROM dbshift_runs ORDER BY started_at, run_id")" \
		"migrate:succeeded
rollback:succeeded
rollback:succeeded" "$tag: every run is recorded in dbshift_runs"
	cd "$WORK" || return
}

t_formats() {
	format_case dbmate 20240101000001 20240101000002 20240101000010
	format_case goose 00001 00002 00010
	format_case golang 1 2 10
	format_case diesel 20240101000001 20240101000002 20240101000010
	format_case flyway 1.2 1.9 1.10
}

t_apps() {
	project apps apps
	local url; url=$(newdb apps) tag="$DRIVER apps"
	dbs --database "$url" --json plan
	check_eq "$(echo "$OUT" | jq -r '.steps[] | "\(.app)/\(.version)"')" "core/20240101000001
billing/20230101000001
core/20240101000002" "$tag: plan is a topological order of the apps"
	dbs --database "$url" --json migrate billing:20230101000001
	check_eq "$(echo "$OUT" | steps_of)" "up core/20240101000001_create_users succeeded
up billing/20230101000001_create_invoices succeeded" "$tag: APP:VERSION target pulls in what it requires"
	dbs --database "$url" --json rollback core:zero
	check_rc 0 "$tag: rollback of an app exits 0"
	check_eq "$(echo "$OUT" | steps_of)" "down billing/20230101000001_create_invoices succeeded
down core/20240101000001_create_users succeeded" "$tag: rollback takes the dependents first"

	# an app directory and a migration file behind symbolic links read as
	# the real ones (readdir says "link": they are stat'ed)
	project apps_linked
	cp -r "$FIXTURES/apps" real
	mkdir migrations/core
	ln -s ../real/billing migrations/billing
	ln -s ../../real/core/20240101000001_create_users.sql migrations/core/
	cp real/core/20240101000002_add_email.sql migrations/core/
	url=$(newdb apps_linked)
	dbs --database "$url" --json plan
	check_eq "$(echo "$OUT" | jq -r '.steps[] | "\(.app)/\(.version)"')" "core/20240101000001
billing/20230101000001
core/20240101000002" "$tag: linked app directory and file are read"
	ln -s ../../real/core migrations/core/nested
	dbs --database "$url" plan
	check_rc 2 "$tag: a linked directory inside an app is refused"
	check_contains "$ERR" "directory inside app 'core' is not a migration" "$tag: ... as a directory"
	cd "$WORK" || return
}
