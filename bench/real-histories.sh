#!/usr/bin/env bash
# real-histories.sh [DIR...] - real public projects' migration histories,
# as they are in their repositories, through dbshift on PostgreSQL:
#
#   migrate            dbshift applies the directory as it is
#   identical schema   pg_dump --schema-only of it against a database where
#                      psql applied the same files as the project's own tool
#                      would (bench/reference.py: its order, its
#                      transactions); dbshift's own tables left out
#   rollback zero      dbshift undoes everything; "ok" when the schema is
#                      then that of an empty database again
#   time               dbshift's migrate against psql's run, one each
#
# With no DIR, the projects of bench/real-histories.list are fetched (a
# bare, blob-less clone each, at the commit named there, into
# build-bench/repos) and their migration directories extracted into the
# work directory.  REPOS_FROM is where to clone from: a pattern in which
# {owner} and {name} are replaced (https://github.com/{owner}/{name}.git).
# Nothing fetched is kept in this repository.
#
# What a project's own setup makes before its first migration, outside
# its migrations (roles it grants to, extensions it uses) is made first:
# the list's fourth column, or NEEDS with DIR arguments, comma-separated
# role:NAME and extension:NAME.  Roles are the server's; extensions are
# made in every database, the empty one compared with too.
. "$(dirname "$0")/common.sh" postgres
. "$ROOT/bench/histories.sh"

schema() {  # URL: the schema, without dbshift's own tables and Prisma's
	pg_dump --schema-only --no-owner --no-privileges -T 'public.dbshift_*' \
		-T 'public._prisma_migrations' "$1" |
		grep -v '^-- Dumped by\|^-- Dumped from\|^SELECT pg_catalog.set_config\|^\\\(un\)\?restrict '
}

is_empty() {  # URL: the schema of an empty database?
	diff -q <(schema "$1") "$WORK/empty.sql" >/dev/null
}

histories_from_args "$@"

empty=$(newdb rh_empty)
schema "$empty" > "$WORK/empty.sql"
printf '%-44s %-15s %8s %-9s %-28s %9s %9s %6s\n' project layout applied identical \
	"rollback zero" dbshift psql ratio
n=0
for dir in "${dirs[@]}"; do
	n=$((n + 1))
	label=$(echo "$dir" | sed "s|^$WORK/src/||; s|/.*||")
	[ "${dir#"$WORK"}" = "$dir" ] && label=$(basename "$(dirname "$dir")")/$(basename "$dir")
	layout=$(python3 "$ROOT/bench/reference.py" "$dir" "$WORK/ref$n.sql" 2>"$WORK/ref.err") ||
		layout="($(tail -n 1 "$WORK/ref.err"))"
	ours=$(newdb "rh_ours$n")
	ref=$(newdb "rh_ref$n")
	project_db "$dir" "$ours"
	project_db "$dir" "$ref"
	applied=0 identical=- back=-
	if t_ours=$(run_secs "$DBSHIFT" --database "$ours" --dir "$dir" migrate); then
		applied=$(psql -X -qAt "$ours" -c "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")
	else
		applied="exit $?"
		first_error >&2
	fi
	if t_ref=$(run_secs psql -X -q "$ref" -f "$WORK/ref$n.sql"); then
		[ "${applied#exit}" = "$applied" ] && same_schema "$ours" "$ref" "$n"
	else
		t_ref=-
		echo "$label: psql's reference run failed: $(grep -m1 ERROR "$WORK/out")" >&2
	fi
	[ "${applied#exit}" = "$applied" ] && rollback_all "$ours" "$dir"
	ratio=$(ratio_of "${t_ours:--}" "$t_ref")
	printf '%-44s %-15s %8s %-9s %-28s %8ss %8ss %6s\n' "$label" "$layout" "$applied" \
		"$identical" "$back" "${t_ours:--}" "$t_ref" "$ratio"
	case $layout in sqlx|prisma) [ "$t_ref" = - ] || adopt_after_tool "$ref" "$dir" "$label" "$layout" ;; esac
done
