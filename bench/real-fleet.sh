#!/usr/bin/env bash
# real-fleet.sh [DIR...] - real public projects' migration histories (those
# of bench/real-histories.list, fetched at their commits, or DIRs) through
# 'dbshift fleet migrate', as a SaaS with a tenant per schema or per
# database would run them:
#
#   schemas     4 tenant schemas of one database (schemas_query), jobs = 4:
#               how many got the whole history, and whether each schema
#               holds exactly the tables and columns a plain migrate made
#               in a database of its own ("same")
#   databases   4 databases (a targets file), jobs = 4: the same question
#   status      fleet status afterwards: targets at the newest migration
#
# REPOS_FROM as for real-histories.sh.  A project whose migrations name
# the public schema outright (public.t, CREATE EXTENSION ... SCHEMA
# public) puts those objects in public whatever the search path: its
# second tenant then fails, and the line says so.
. "$(dirname "$0")/common.sh" postgres
. "$ROOT/bench/histories.sh"
histories_from_args "$@"
cd "$WORK"

columns() {  # URL SCHEMA: every column of its tables, dbshift's and sqlx's left out
	psql -X -qAt "$1" -c "SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = '$2' AND table_name NOT LIKE 'dbshift\_%'
		AND table_name <> '_sqlx_migrations' ORDER BY 1, 2"
}

printf '%-44s %8s  %-26s %-26s %s\n' project applied schemas databases status
n=0
for dir in "${dirs[@]}"; do
	n=$((n + 1))
	label=$(echo "$dir" | sed "s|^$WORK/src/||; s|/.*||")
	[ "${dir#"$WORK"}" = "$dir" ] && label=$(basename "$(dirname "$dir")")/$(basename "$dir")
	ref=$(newdb "rf_ref$n")
	project_db "$dir" "$ref"
	if ! "$DBSHIFT" --database "$ref" --dir "$dir" migrate >"$WORK/out" 2>&1; then
		printf '%-44s %8s  %s\n' "$label" "-" "(its plain migrate fails: see real-histories.sh)"
		continue
	fi
	applied=$(psql -X -qAt "$ref" -c "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")
	columns "$ref" public > "$WORK/ref.cols"

	# a tenant per schema
	ten=$(newdb "rf_ten$n")
	project_db "$dir" "$ten"
	for s in 1 2 3 4; do psql -X -q "$ten" -c "CREATE SCHEMA tenant_$s"; done
	printf '[dbshift]\ndatabase = %s\ndir = %s\nlog_file =\n\n[fleet]\nschemas_query = SELECT nspname FROM pg_namespace WHERE nspname LIKE '"'"'tenant%%'"'"' ORDER BY 1\njobs = 4\n' \
		"$ten" "$dir" > dbshift.conf
	"$DBSHIFT" fleet migrate >"$WORK/fleet.out" 2>&1 || true  # (a failed target: counted below)
	full=0 same=0
	for s in 1 2 3 4; do
		got=$(psql -X -qAt "$ten" -c "SELECT count(*) FROM tenant_$s.dbshift_migrations WHERE status = 'applied'" 2>/dev/null || true)
		[ "$got" = "$applied" ] && full=$((full + 1))
		cmp -s <(columns "$ten" "tenant_$s") "$WORK/ref.cols" && same=$((same + 1))
	done
	schemas="$full/4 full, $same/4 same"
	[ "$full" = 4 ] || echo "$label, schemas: $(grep -m1 '  failed ' "$WORK/fleet.out" | sed 's/.*  failed  *//' | cut -c1-200 || true)" >&2

	# a tenant per database
	: > targets.txt
	for d in 1 2 3 4; do
		url=$(newdb "rf_db${n}_$d")
		project_db "$dir" "$url"
		echo "$url" >> targets.txt
	done
	printf '[dbshift]\ndir = %s\nlog_file =\n\n[fleet]\ntargets = targets.txt\njobs = 4\n' "$dir" > dbshift.conf
	"$DBSHIFT" fleet migrate >"$WORK/fleet.out" 2>&1 || true  # (a failed target: counted below)
	full=0 same=0
	while read -r url; do
		got=$(psql -X -qAt "$url" -c "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'" 2>/dev/null || true)
		[ "$got" = "$applied" ] && full=$((full + 1))
		cmp -s <(columns "$url" public) "$WORK/ref.cols" && same=$((same + 1))
	done < targets.txt
	databases="$full/4 full, $same/4 same"
	status=$("$DBSHIFT" --json fleet status || true) status=$(echo "$status" | jq -r '"\([.targets[] | select(.pending == 0 and .failed == 0)] | length)/\(.targets | length) current"')
	printf '%-44s %8s  %-26s %-26s %s\n' "$label" "$applied" "$schemas" "$databases" "$status"
done
