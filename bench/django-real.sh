#!/usr/bin/env bash
# django-real.sh [ROUNDS] - a real public Django project, as it is in its
# repository, through dbshift (framework = django) next to its own
# manage.py, on PostgreSQL:
#
#   healthchecks/healthchecks at d15ea01 (January 2022: its last commit on
#   Django 3.2, the Django Debian has): 134 migrations of its own in three
#   apps, and django.contrib's 18; RunPython with and without a reverse,
#   migrations whose SQL Django can only write against the database as it
#   is then (index_together removed), a merge of two migrations.
#
#   migrate            dbshift migrate from empty, against manage.py migrate
#   same schema        pg_dump --schema-only of both (dbshift's tables left
#                      out), and django_migrations' rows
#   plan --rollback    dbshift's plan to api:0080 against manage.py migrate
#                      api 0080 --plan (Django's own), then the rollback: the
#                      rows and schema again against manage.py's
#   status, plan, lint against manage.py showmigrations
#
# The project runs with its own settings.py (DB=postgres and the DB_*
# variables it reads).  Its requirements are Debian's packages, installed
# here; two that Debian does not have (cronsim, cron-descriptor: its models
# and views import them, no migration calls them) are stand-ins this
# script writes on PYTHONPATH.  REPOS_FROM is where to clone from, as in
# real-histories.sh.  Nothing fetched is kept in this repository.
. "$(dirname "$0")/common.sh" postgres
R=${1:-3}
PY=/usr/bin/python3
OWNER=healthchecks NAME=healthchecks COMMIT=d15ea0107734945bd0b465d4c8142a1cb374aea4
[ -n "${REPOS_FROM:-}" ] || REPOS_FROM='https://github.com/{owner}/{name}.git'

need=()
for p in python3-django python3-psycopg2 python3-fido2 python3-pyotp python3-segno python3-statsd \
	python3-whitenoise python3-tz python3-requests python3-django-compressor; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null
fi

src=${REPOS_FROM//'{owner}'/$OWNER}
src=${src//'{name}'/$NAME}
bare=$ROOT/build-bench/repos/$OWNER+$NAME.git
[ -d "$src" ] && bare=$src
if ! git -C "$bare" cat-file -e "$COMMIT^{commit}" 2>/dev/null; then
	rm -rf "$bare"
	git clone -q --bare --filter=blob:none "$src" "$bare"
fi
P=$WORK/project
mkdir -p "$P" "$WORK/stand-ins/cronsim"
git -C "$bare" archive "$COMMIT" | tar -x -C "$P"
printf 'class CronSim:\n    pass\n\n\nclass CronSimError(Exception):\n    pass\n' \
	> "$WORK/stand-ins/cronsim/cronsim.py"
printf 'from cronsim.cronsim import CronSim, CronSimError\n' > "$WORK/stand-ins/cronsim/__init__.py"
printf 'class ExpressionDescriptor:\n    pass\n' > "$WORK/stand-ins/cron_descriptor.py"
printf '[dbshift]\nframework = django\nmanage = %s manage.py\n' "$PY" > "$P/dbshift.conf"
export PYTHONPATH=$WORK/stand-ins DB=postgres DB_HOST=127.0.0.1 DB_PORT=$PGPORT_TEST \
	DB_USER=postgres DB_PASSWORD=$PG_PASSWORD

# at NAME COMMAND...: COMMAND in the project, Django's settings on database NAME
at() {
	local db=$1
	shift
	(cd "$P" && DB_NAME=$db "$@")
}
secs() {  # NAME COMMAND...: wall time; exit 1 is lint's red findings
	local t0 t1 rc=0
	t0=$(date +%s.%N)
	at "$@" >"$WORK/out" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	if [ $rc != 0 ] && ! { [ $rc = 1 ] && [[ " $* " == *" lint "* ]]; }; then
		echo "failed (exit $rc): ${*:2}" >&2
		tail -n 5 "$WORK/out" >&2
		touch "$WORK/failed"
	fi
	echo "$t1 - $t0" | bc -l
}
url() { echo "postgres://postgres:$PG_PASSWORD@127.0.0.1:$PGPORT_TEST/$1"; }
schema() { pg_dump --schema-only --no-owner -T 'dbshift_*' "$(url "$1")" | grep -v -e '^--' -e '^\\'; }
rows() { psql -X -A -t "$(url "$1")" -c "SELECT app || '.' || name FROM django_migrations ORDER BY 1"; }
check() {  # WHAT A B
	if [ "$2" = "$3" ]; then printf '%-52s ok\n' "$1"; else printf '%-52s DIFFERENT\n' "$1"; touch "$WORK/failed"; fi
}

declare -A ours theirs
for r in $(seq 1 "$R"); do
	pg_newdb "o$r" >/dev/null
	pg_newdb "t$r" >/dev/null
	ours[status]+="$(secs "o$r" "$DBSHIFT" --database "$(url "o$r")" status) "
	ours[plan]+="$(secs "o$r" "$DBSHIFT" --database "$(url "o$r")" plan) "
	ours[lint]+="$(secs "o$r" "$DBSHIFT" --database "$(url "o$r")" lint) "
	theirs[show]+="$(secs "o$r" "$PY" manage.py showmigrations) "
	ours[migrate]+="$(secs "o$r" "$DBSHIFT" --database "$(url "o$r")" migrate --force) "
	theirs[migrate]+="$(secs "t$r" "$PY" manage.py migrate --noinput) "
done
[ -e "$WORK/failed" ] && { echo "django-real.sh: a command failed (above)" >&2; exit 1; }

echo "$OWNER/$NAME ${COMMIT:0:7}, Django $("$PY" -c 'import django; print(django.get_version())'), $(rows t1 | wc -l) migrations applied"
check "migrate: the schema manage.py migrate makes" "$(schema o1)" "$(schema t1)"
check "migrate: the rows of django_migrations" "$(rows o1)" "$(rows t1)"
want=$(at o1 "$PY" manage.py migrate api 0080 --plan | grep -v -e '^Planned operations:' -e '^    ' | tr '\n' ' ')
got=$(at o1 "$DBSHIFT" --database "$(url o1)" --json plan --rollback api:0080 | jq -r '.steps | map(.app + "." + .version + " ") | join("")')
check "plan --rollback api:0080: manage.py's --plan ($(echo "$want" | wc -w) steps)" "$got" "$want"
at o1 "$DBSHIFT" --database "$(url o1)" rollback api:0080 --force >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; exit 1; }
at t1 "$PY" manage.py migrate api 0080 --noinput >/dev/null
check "rollback api:0080: manage.py's rows" "$(rows o1)" "$(rows t1)"
check "rollback api:0080: manage.py's schema" "$(schema o1)" "$(schema t1)"

med() { tr ' ' '\n' | grep . | median; }
show() {  # WHAT OURS THEIRS
	local o t
	o=$(echo "${ours[$2]}" | med)
	t=$(echo "${theirs[$3]}" | med)
	printf '%-36s %8.2f s %8.2f s %7s\n' "$1" "$o" "$t" "$(echo "$o / $t" | bc -l | xargs printf '%.2fx')"
}
printf '%-36s %10s %10s %7s   (median of %s)\n' "" dbshift Django ratio "$R"
show "migrate from empty / migrate" migrate migrate
show "plan / showmigrations" plan show
show "lint / showmigrations" lint show
show "status / showmigrations" status show
[ ! -e "$WORK/failed" ]
