# django_helper.py - what dbshift reads of a Django project, in one Python
# start: run by `manage.py shell --command` (the project's interpreter,
# settings and environment), it loads Django's MigrationLoader once and
# prints one JSON document on stdout:
#
#   {"django": "3.2.25", "vendor": "postgresql",
#    "migrations": [{"app", "name", "dependencies": [[app, name]...],
#                    "replaces": [[app, name]...], "atomic", "file", "sha256",
#                    "operations": [{"type", "code", "reverse"}...],
#                    "up": TEXT, "down": TEXT | null, "irreversible": TEXT | null}...],
#    "leaves": [[app, name]...], "identity": TEXT, "ways": ["up", "down"],
#    "plan": {"runs": [[app, name | "zero"]...],
#             "steps": [[app, name, backwards]...]} | {"error": TEXT}}
#
# migrations in the executor's plan from an empty database to every leaf,
# which is the order Django applies them in.  up and down are each
# migration's SQL as `manage.py sqlmigrate APP NAME [--backwards]` prints
# it (BEGIN; ... COMMIT; around an atomic one where DDL rolls back), taken
# as `migrate` takes it: one project state carried along the plan (not
# rebuilt from the graph for each migration, as sqlmigrate does), so the
# whole history costs one pass; down is null and irreversible Django's
# message when Django cannot undo it.  DBSHIFT_WANT_SQL, set before this
# code, takes less: "up" or "down" only that way (migrate needs no down,
# rollback no up), False none (status); "ways" says which were taken.  With DBSHIFT_SERVE = True (dbshift's migrate and
# rollback), it then waits for a word on stdin to run migrate here (serve).
# With DBSHIFT_PLAN = [KIND, TARGET, STEPS, APP]
# ("migrate" or "rollback"; TARGET "APP:NAME" with NAME a prefix as
# `migrate` takes it, "APP:zero", "zero" or ""), "plan" is the executor's
# own plan for it against what is applied: the `manage.py migrate APP NAME`
# runs that carry it out, one after another, and the migrations each
# applies or unapplies in order, dependants in other apps included.  A
# rollback without a target undoes the last STEPS applied migrations (of
# APP, when given), newest first: for each, Django goes back to a parent of
# its app, and its plan says what else that takes.  identity is the database Django's default
# connection points at, as dbshift's db_identity writes it.  Compiled into
# dbshift (django.c).
import gc
import hashlib
import json
import os
import sys

import django
from django.db import connections, DEFAULT_DB_ALIAS
from django.db.migrations.exceptions import AmbiguityError, IrreversibleError
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations.special import RunPython


def dotted(fn):
    if fn is None:
        return None
    if fn is RunPython.noop:
        return "noop"
    return "%s.%s" % (getattr(fn, "__module__", "?"), getattr(fn, "__qualname__", repr(fn)))


def operations(migration):
    out = []
    for op in migration.operations:
        o = {"type": type(op).__name__}
        if isinstance(op, RunPython):
            o["code"] = dotted(op.code)
            o["reverse"] = dotted(op.reverse_code)
        out.append(o)
    return out


def source(migration):
    module = sys.modules.get(type(migration).__module__)
    path = getattr(module, "__file__", None)
    if not path:
        return None, None
    with open(path, "rb") as f:
        return path, hashlib.sha256(f.read()).hexdigest()


NOOP = "RunPython noop (does nothing)"


def name_python(migration, backwards):
    """What collect_sql writes of each RunPython: its function's dotted
    name, not "Raw Python operation"; a noop reverse as NOOP."""
    for op in migration.operations:
        if isinstance(op, RunPython):
            fn = op.reverse_code if backwards else op.code
            text = NOOP if fn is RunPython.noop else "RunPython %s" % dotted(fn)
            op.describe = (lambda t: lambda: t)(text)


def wrapped(connection, migration, statements):
    """statements as sqlmigrate prints them: in BEGIN; and COMMIT; when the
    migration is atomic and DDL rolls back."""
    if migration.atomic and connection.features.can_rollback_ddl:
        statements = [connection.ops.start_transaction_sql()] + statements + \
                     [connection.ops.end_transaction_sql()]
    return "\n".join(statements)


def sql(connection, migration, state, backwards):
    """migration's SQL from state (the project state before it); the state
    after it when forwards (state is then changed)."""
    name_python(migration, backwards)
    try:
        with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
            if backwards:
                migration.unapply(state, editor, collect_sql=True)
            else:
                state = migration.apply(state, editor, collect_sql=True)
    finally:
        for op in migration.operations:  # (Django's own words again for migrate)
            op.__dict__.pop("describe", None)
    return wrapped(connection, migration, editor.collected_sql), state


def unwritten(connection, migration, error):
    """What stands for the SQL of a migration Django cannot write before it
    runs: some operations (removing an index_together or unique_together)
    look the names up in the database, which does not have them yet, as
    `sqlmigrate` fails on them too.  dbshift shows it as an operation that
    cannot be written as SQL, with Django's reason."""
    why = " ".join(("%s: %s" % (type(error).__name__, error)).split())
    return wrapped(connection, migration, [
        "-- MIGRATION NOW PERFORMS OPERATION THAT CANNOT BE WRITTEN AS SQL:",
        "-- SQL Django writes only against the database as it is then (%s)" % why])


def identity(connection):
    if connection.vendor == "postgresql":
        with connection.cursor() as k:
            k.execute("SELECT 'postgres:' || system_identifier || '/' || current_database() "
                      "FROM pg_control_system()")
            return k.fetchone()[0]
    if connection.vendor == "sqlite":
        return "sqlite:" + os.path.realpath(str(connection.settings_dict["NAME"]))
    return connection.vendor + ":"


def run_plan(executor, targets, undo=None):
    """The runs for targets, one after another, and what each does: a
    target Django has nothing to do for is left out, and so is one whose
    migration to undo (undo, by index) an earlier run undid already."""
    applied = executor.loader.applied_migrations
    runs, steps = [], []
    for i, target in enumerate(targets):
        if undo and undo[i] not in applied:
            continue
        plan = executor.migration_plan([target])
        if not plan:
            continue
        runs.append([target[0], target[1] or "zero"])
        for migration, backwards in plan:
            key = (migration.app_label, migration.name)
            steps.append([key[0], key[1], bool(backwards)])
            if backwards:
                applied.pop(key, None)
            else:
                applied[key] = migration  # (a dict since Django 3.0)
    return {"runs": runs, "steps": steps}


def plan_for(executor, order, request):
    kind, target, steps, app = request
    loader = executor.loader
    applied = [m for m in order if (m.app_label, m.name) in loader.applied_migrations]
    if target == "zero":
        if kind != "rollback":
            return {"error": "migrate cannot go to 'zero'"}
        # each app the newest applied migration is of, zero, until none is
        targets, left = [], list(applied)
        while left:
            app_label = left[-1].app_label
            targets.append((app_label, None))
            gone = {(m.app_label, m.name) for m, _ in executor.migration_plan([(app_label, None)])}
            left = [m for m in left if m.app_label != app_label and
                    (m.app_label, m.name) not in gone]
        return run_plan(executor, targets)
    if target:
        app_label, colon, name = target.rpartition(":")
        if not colon:
            return {"error": "name the app of '%s' (APP:NAME): Django's migrations are "
                             "each app's" % target}
        if app_label not in loader.migrated_apps:
            return {"error": "no app '%s' with migrations" % app_label}
        if name == "zero":
            return run_plan(executor, [(app_label, None)])
        try:
            migration = loader.get_migration_by_prefix(app_label, name)
        except AmbiguityError:
            return {"error": "more than one migration of %s starts with '%s'" % (app_label, name)}
        except KeyError:
            return {"error": "no migration %s" % target}
        return run_plan(executor, [(app_label, migration.name)])
    mine = [m for m in applied if not app or m.app_label == app]
    if app and app not in loader.migrated_apps:
        return {"error": "no app '%s' with migrations" % app}
    # the last STEPS, newest first: each undone by going back to a parent
    # of its app (and what depends on it with it), unless undone already
    targets, undo = [], []
    for m in reversed(mine[-steps:] if steps > 0 else []):
        key = (m.app_label, m.name)
        parents = sorted(p.key for p in loader.graph.node_map[key].parents if p.key[0] == key[0])
        targets.append((key[0], parents[-1][1] if parents else None))
        undo.append(key)
    return run_plan(executor, targets, undo)


def main():
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    loader = executor.loader
    graph = loader.graph
    leaves = graph.leaf_nodes()
    plan = executor.migration_plan(leaves, clean_start=True)
    migrations = []
    want_sql = globals().get("DBSHIFT_WANT_SQL", True)
    state = executor._create_project_state(with_applied_migrations=False)
    done = []
    for migration, _ in plan:
        path, digest = source(migration)
        m = {
            "app": migration.app_label,
            "name": migration.name,
            "dependencies": [list(p.key) for p in sorted(
                graph.node_map[(migration.app_label, migration.name)].parents,
                key=lambda p: p.key)],
            "replaces": [list(r) for r in migration.replaces],
            "atomic": bool(migration.atomic),
            "file": path,
            "sha256": digest,
            "operations": operations(migration),
            "up": None,
            "down": None,
            "irreversible": None,
        }
        migrations.append(m)
        if not want_sql:
            continue
        if want_sql in (True, "down"):
            try:
                m["down"] = sql(connection, migration, state.clone(), True)[0]
            except IrreversibleError as e:
                m["irreversible"] = str(e)
            except Exception as e:
                m["down"] = unwritten(connection, migration, e)
        done.append((migration.app_label, migration.name))
        if want_sql in (True, "up"):
            try:
                m["up"], state = sql(connection, migration, state, False)
            except Exception as e:
                m["up"] = unwritten(connection, migration, e)
                # (the state it had changed part of, again from the graph)
                state = loader.project_state(done, at_end=True)
        else:
            state = migration.mutate_state(state, preserve=False)
    doc = {"django": django.get_version(), "vendor": connection.vendor,
           "migrations": migrations, "leaves": [list(k) for k in leaves],
           "identity": identity(connection),
           "ways": [w for w in ("up", "down") if want_sql in (True, w)]}
    request = globals().get("DBSHIFT_PLAN")
    if request:
        doc["plan"] = plan_for(executor, [m for m, _ in plan], request)
    # one write (json.dump writes each token apart: one system call each
    # when PYTHONUNBUFFERED is set)
    sys.stdout.write(json.dumps(doc) + "\n")


def serve():
    """After the document, wait for dbshift's word on stdin, given once it
    has judged the plan and holds its lock: "migrate [APP TARGET]" runs
    Django's migrate command (the project's own, when it has one) in this
    process, as `manage.py migrate --noinput [APP TARGET]` would, system
    checks and all, which saves a second start of Python and Django; no
    word (stdin ends) runs nothing."""
    sys.stdout.flush()
    gc.collect()  # (the states the SQL was taken from, gone before migrate runs)
    words = sys.stdin.readline().split()
    if words[:1] != ["migrate"]:
        return
    from django.core.management import call_command
    call_command("migrate", *words[1:], interactive=False, skip_checks=False)


main()
if globals().get("DBSHIFT_SERVE"):
    serve()
