#!/usr/bin/env bash
# real-sqlite.sh [DIR...] - real public projects' SQLite migration
# histories, as they are in their repositories, through dbshift on a
# SQLite file (the embedded default), as real-histories.sh does on
# PostgreSQL:
#
#   migrate            dbshift applies the directory as it is
#   identical schema   sqlite3's .schema of it against a file where sqlite3
#                      applied the same files as the project's own tool
#                      would (bench/reference.py --sqlite); dbshift's own
#                      tables left out
#   rollback zero      dbshift undoes everything; "ok" when no table is
#                      left (then with --allow-irreversible past
#                      migrations that have no down)
#   time               dbshift's migrate against sqlite3's run
#
# With no DIR, the projects of bench/real-sqlite.list are fetched as
# real-histories.sh fetches its own (REPOS_FROM, build-bench/repos).
. "$(dirname "$0")/common.sh"
HISTORIES_LIST=$ROOT/bench/real-sqlite.list
. "$ROOT/bench/histories.sh"
cd "$WORK"

secs() {  # COMMAND...: wall time in seconds; the output in $WORK/out
	local t0 t1 rc=0
	t0=$(date +%s.%N)
	"$@" >"$WORK/out" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l | xargs printf '%.2f'
	return $rc
}

schema() {  # FILE: its schema, without dbshift's own tables
	sqlite3 "$1" .schema | grep -v 'dbshift_\|^CREATE TABLE sqlite_sequence'
}

first_error() {
	sed -n 's/^dbshift: error: //p' "$WORK/out" | head -n 1 | sed "s|$WORK/src/||" | cut -c1-240
}

histories_from_args "$@"
printf '%-52s %-10s %8s %-9s %-30s %7s %7s %6s\n' project layout applied identical \
	"rollback zero" dbshift sqlite3 ratio
n=0
for dir in "${dirs[@]}"; do
	n=$((n + 1))
	label=$(echo "$dir" | sed "s|^$WORK/src/||")
	layout=$(python3 "$ROOT/bench/reference.py" --sqlite "$dir" "$WORK/ref$n.sql" 2>"$WORK/ref.err") ||
		layout="($(tail -n 1 "$WORK/ref.err"))"
	ours=$WORK/ours$n.db ref=$WORK/ref$n.db
	applied=0 identical=- back=- t_ref=-
	if t_ours=$(secs "$DBSHIFT" --database "sqlite:$ours" --dir "$dir" migrate); then
		applied=$(sqlite3 "$ours" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")
	else
		applied="exit $?"
		first_error >&2
	fi
	if t_ref=$(secs sh -c "sqlite3 '$ref' < '$WORK/ref$n.sql'"); then
		if [ "${applied#exit}" = "$applied" ]; then
			if diff <(schema "$ours") <(schema "$ref") > "$WORK/diff$n"; then
				identical=yes
			else
				identical=NO
				head -n 20 "$WORK/diff$n" >&2
			fi
		fi
	else
		echo "$label: sqlite3's reference run failed: $(head -n 1 "$WORK/out")" >&2
		t_ref=-
	fi
	if [ "${applied#exit}" = "$applied" ]; then
		if secs "$DBSHIFT" --database "sqlite:$ours" --dir "$dir" rollback zero >/dev/null; then
			back="ok"
		else
			rc=$?
			back="exit $rc"
			first_error >&2
			if [ $rc = 3 ]; then  # irreversible migrations refuse: past them, as a user would
				if secs "$DBSHIFT" --database "sqlite:$ours" --dir "$dir" rollback zero \
						--allow-irreversible >/dev/null; then
					back="ok, --allow-irreversible"
				else
					back="exit $?, --allow-irreversible"
					first_error >&2
				fi
			fi
		fi
		[ "${back#ok}" != "$back" ] && [ -n "$(schema "$ours")" ] && back="not empty${back#ok}"
	fi
	ratio=-
	[ "$t_ref" != - ] && [ "${applied#exit}" = "$applied" ] &&
		ratio=$(echo "$t_ours / $t_ref" | bc -l | xargs printf '%.2fx')
	printf '%-52s %-10s %8s %-9s %-30s %6ss %6ss %6s\n' "$label" "$layout" "$applied" \
		"$identical" "$back" "${t_ours:--}" "$t_ref" "$ratio"
done
