#!/usr/bin/env bash
# django.sh [APPS] [PER_APP] [ROUNDS] - dbshift on a Django project next to
# Django's own commands, on PostgreSQL: a generated project of APPS apps
# (8) with PER_APP migrations each (8: a model, then fields, an index, a
# RunPython), each app after the first depending on the one before; the
# median of ROUNDS (3) runs of each:
#
#   migrate from empty   dbshift migrate  /  manage.py migrate
#   plan, lint           dbshift plan, lint of all pending  /  showmigrations
#   status               dbshift status   /  showmigrations
#
# The issue's goals: migrate <= 1.2x, plan and lint <= 2x, status <= 1.5x.
. "$(dirname "$0")/common.sh" postgres
APPS=${1:-8}
PER=${2:-8}
R=${3:-3}
PY=/usr/bin/python3
P=$WORK/proj

# the project: settings reading DATABASE_URL, APPS apps of PER migrations
mkdir -p "$P/benchsite"
touch "$P/benchsite/__init__.py"
cp "$ROOT/examples/django/manage.py" "$P/manage.py"
sed -i 's/shopsite.settings/benchsite.settings/' "$P/manage.py"
"$PY" - "$P" "$APPS" "$PER" <<'EOF'
import os, sys
p, apps, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = ["app%d" % a for a in range(1, apps + 1)]
with open(os.path.join(p, "benchsite", "settings.py"), "w") as f:
    f.write("""import os
from urllib.parse import unquote, urlparse
SECRET_KEY = "bench"
INSTALLED_APPS = %r
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
u = urlparse(os.environ["DATABASE_URL"])
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",
    "NAME": unquote(u.path[1:]), "USER": unquote(u.username or ""),
    "PASSWORD": unquote(u.password or ""), "HOST": u.hostname, "PORT": u.port}}
""" % names)
for a, app in enumerate(names):
    d = os.path.join(p, app, "migrations")
    os.makedirs(d)
    open(os.path.join(p, app, "__init__.py"), "w").close()
    open(os.path.join(d, "__init__.py"), "w").close()
    prev = None
    for k in range(1, per + 1):
        name = "%04d_step%d" % (k, k)
        deps = [(app, prev)] if prev else []
        if k == 1 and a > 0:
            deps.append((names[a - 1], "%04d_step%d" % (per, per)))
        if k == 1:
            ops = "migrations.CreateModel(name='Thing', fields=[('id', models.AutoField(primary_key=True)), ('name', models.CharField(max_length=100))])"
        elif k == per:
            ops = "migrations.RunPython(fill, migrations.RunPython.noop)"
        elif k % 3 == 0:
            ops = "migrations.AddIndex(model_name='thing', index=models.Index(fields=['name'], name='%s_name_%d'))" % (app, k)
        else:
            ops = "migrations.AddField(model_name='thing', name='f%d', field=models.IntegerField(null=True))" % k
        with open(os.path.join(d, name + ".py"), "w") as f:
            f.write("from django.db import migrations, models\n\n\n"
                    "def fill(apps, schema_editor):\n"
                    "    apps.get_model(%r, 'Thing').objects.update(name='x')\n\n\n"
                    "class Migration(migrations.Migration):\n"
                    "    dependencies = %r\n"
                    "    operations = [%s]\n" % (app, deps, ops))
        prev = name
EOF
printf '[dbshift]\nframework = django\nmanage = %s manage.py\n' "$PY" > "$P/dbshift.conf"

# secs COMMAND...: wall time, in $P, with DATABASE_URL set (lint's exit 1
# says it found something red: the RunPython)
secs() {
	local t0 t1 rc=0
	t0=$(date +%s.%N)
	(cd "$P" && "$@") >/dev/null 2>"$WORK/err" || rc=$?
	if [ $rc != 0 ] && ! { [ $rc = 1 ] && [ "$4" = lint ]; }; then
		echo "failed (exit $rc): $*" >&2
		tail -n 5 "$WORK/err" >&2
		touch "$WORK/failed"
	fi
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

declare -A ours theirs
for r in $(seq 1 "$R"); do
	url=$(pg_newdb "dj_ours_$r")
	export DATABASE_URL=$url
	ours[status]+="$(secs "$DBSHIFT" --database "$url" status) "
	ours[plan]+="$(secs "$DBSHIFT" --database "$url" plan) "
	ours[lint]+="$(secs "$DBSHIFT" --database "$url" lint) "
	theirs[showmigrations]+="$(secs "$PY" manage.py showmigrations) "
	ours[migrate]+="$(secs "$DBSHIFT" --database "$url" migrate --force) "
	url=$(pg_newdb "dj_theirs_$r")
	export DATABASE_URL=$url
	theirs[migrate]+="$(secs "$PY" manage.py migrate) "
done
[ -e "$WORK/failed" ] && { echo "django.sh: a command failed (above)" >&2; exit 1; }
med() { tr ' ' '\n' | grep . | median; }
show() {  # WHAT OURS THEIRS GOAL
	local o t
	o=$(echo "${ours[$2]}" | med)
	t=$(echo "${theirs[$3]}" | med)
	printf '%-36s %8.2f s %8.2f s %7s   (goal %s)\n' "$1" "$o" "$t" \
		"$(echo "$o / $t" | bc -l | xargs printf '%.2fx')" "$4"
}
echo "Django $("$PY" -c 'import django; print(django.get_version())'), $APPS apps x $PER migrations, median of $R"
printf '%-36s %10s %10s %7s\n' "" dbshift Django ratio
show "migrate from empty / migrate" migrate migrate "<= 1.2x"
show "plan of all pending / showmigrations" plan showmigrations "<= 2x"
show "lint of all pending / showmigrations" lint showmigrations "<= 2x"
show "status / showmigrations" status showmigrations "<= 1.5x"
