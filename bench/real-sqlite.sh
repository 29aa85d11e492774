#!/usr/bin/env bash
# real-sqlite.sh [DIR...] - real public projects' SQLite migration
# histories, as they are in their repositories, through dbshift on a
# SQLite file (the embedded default), as real-histories.sh does on
# PostgreSQL:
#
#   migrate            dbshift applies the directory as it is
#   identical schema   its schema against a file where sqlite3 applied the
#                      same files as the project's own tool would
#                      (bench/reference.py --sqlite), or, for Drizzle's
#                      migrations (a meta/_journal.json), where Drizzle's
#                      own migrator did (bench/drizzle-migrate.mjs, with
#                      drizzle-orm and sql.js from npm); the tools' own
#                      tables left out
#   rollback zero      dbshift undoes everything; "ok" when no table is
#                      left (then with --allow-irreversible past
#                      migrations that have no down)
#   time               dbshift's migrate against sqlite3's run (Drizzle's:
#                      node's, which the time of starting node is in)
#
# With no DIR, the projects of bench/real-sqlite.list are fetched as
# real-histories.sh fetches its own (REPOS_FROM, build-bench/repos).
. "$(dirname "$0")/common.sh"
HISTORIES_LIST=$ROOT/bench/real-sqlite.list
. "$ROOT/bench/histories.sh"
cd "$WORK"

schema() {  # FILE: its schema, without dbshift's own tables and the tools'
	sqlite3 "$1" "SELECT sql || ';' FROM sqlite_master WHERE sql IS NOT NULL AND
		name NOT LIKE 'dbshift\_%' ESCAPE '\' AND name NOT IN ('sqlite_sequence',
		'_sqlx_migrations', '_prisma_migrations', '__drizzle_migrations') ORDER BY name"
}

TOOLS=$ROOT/build-bench/npm
drizzle_ref() {  # DIR FILE: Drizzle's own migrator applies DIR to FILE
	TOOLS=$TOOLS node "$ROOT/bench/drizzle-migrate.mjs" "$1" "$2"
}

is_empty() {  # sqlite:FILE: no table of the project's left?
	[ -z "$(schema "${1#sqlite:}")" ]
}

histories_from_args "$@"
printf '%-52s %-10s %8s %-9s %-30s %7s %7s %6s\n' project layout applied identical \
	"rollback zero" dbshift sqlite3 ratio
n=0
for dir in "${dirs[@]}"; do
	n=$((n + 1))
	label=$(echo "$dir" | sed "s|^$WORK/src/||")
	ours=$WORK/ours$n.db ref=$WORK/ref$n.db
	if [ -f "$dir/meta/_journal.json" ]; then
		layout=drizzle
		[ -d "$TOOLS/node_modules/drizzle-orm" ] && [ -d "$TOOLS/node_modules/sql.js" ] ||
			npm install --silent --prefix "$TOOLS" drizzle-orm sql.js >/dev/null
	else
		layout=$(python3 "$ROOT/bench/reference.py" --sqlite "$dir" "$WORK/ref$n.sql" 2>"$WORK/ref.err") ||
			layout="($(tail -n 1 "$WORK/ref.err"))"
	fi
	applied=0 identical=- back=- t_ref=-
	if t_ours=$(run_secs "$DBSHIFT" --database "sqlite:$ours" --dir "$dir" migrate); then
		applied=$(sqlite3 "$ours" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")
	else
		applied="exit $?"
		first_error >&2
	fi
	if [ $layout = drizzle ]; then
		t_ref=$(run_secs drizzle_ref "$dir" "$ref") || t_ref=-
	else
		t_ref=$(run_secs sh -c "sqlite3 '$ref' < '$WORK/ref$n.sql'") || t_ref=-
	fi
	if [ "$t_ref" != - ]; then
		[ "${applied#exit}" = "$applied" ] && same_schema "$ours" "$ref" "$n"
	else
		echo "$label: sqlite3's reference run failed: $(head -n 1 "$WORK/out")" >&2
		t_ref=-
	fi
	[ "${applied#exit}" = "$applied" ] && rollback_all "sqlite:$ours" "$dir"
	ratio=$(ratio_of "${t_ours:--}" "$t_ref")
	printf '%-52s %-10s %8s %-9s %-30s %6ss %6ss %6s\n' "$label" "$layout" "$applied" \
		"$identical" "$back" "${t_ours:--}" "$t_ref" "$ratio"
	case $layout in sqlx|prisma|drizzle) [ "$t_ref" = - ] || adopt_after_tool "sqlite:$ref" "$dir" "$label" "$layout" ;; esac
done
