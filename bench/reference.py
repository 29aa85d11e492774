#!/usr/bin/env python3
"""reference.py [--sqlite] DIR OUT - write OUT, a psql script (with
--sqlite: a sqlite3 script) that applies the migrations of DIR as the
tool whose layout they are in would, on PostgreSQL (or SQLite), and
print the layout's name.  It is written from each tool's
own documented rules, not from dbshift's code, so that the schema it
leaves is a reference for dbshift's:

  diesel          <version>_<name>/up.sql, ordered by directory name; each
                  in a transaction unless metadata.toml says
                  run_in_transaction = false
  popx            <version>_<name>[.<dialect>][.autocommit].up.sql, versions
                  as numbers; the postgres file (pop's names: postgres,
                  postgresql, pg, pgx) beats the dialect-less one; each in
                  a transaction unless .autocommit
  golang-migrate  <version>_<name>.up.sql, versions as numbers; each file
                  as written, no transaction around it
  flyway          V<version>__<name>.sql, versions part by part; each in a
                  transaction unless a statement cannot run in one
                  (Flyway's PostgreSQL list: CREATE/DROP INDEX
                  CONCURRENTLY, REINDEX SCHEMA/DATABASE/SYSTEM or
                  CONCURRENTLY, VACUUM, CREATE/DROP DATABASE, TABLESPACE
                  or SUBSCRIPTION, ALTER SYSTEM, DISCARD ALL); other
                  .sql files ignored
  goose           <version>_<name>.sql, the '-- +goose Up' section; in a
                  transaction unless '-- +goose NO TRANSACTION'
  dbmate          <version>_<name>.sql, the '-- migrate:up' section; in a
                  transaction unless 'transaction:false'
  sqlx            <version>_<name>.sql without markers, versions as numbers:
                  the whole file, in a transaction unless it starts with
                  '-- no-transaction'; sqlx's own _sqlx_migrations table is
                  made first (sqlx makes it before the first migration) and
                  each migration writes its row there as sqlx does (its
                  checksum: the SHA-384 of the file)
  atlas           <version>_<name>.sql beside atlas.sum, versions as numbers;
                  each in a transaction unless its header (comment lines
                  at the top, ended by an empty line) says
                  '-- atlas:txmode none'
  prisma          <version>_<name>/migration.sql, in name order, each whole
                  file in a transaction unless a statement cannot run in
                  one (Prisma sends it as one query); each writes its row
                  into _prisma_migrations after it, as Prisma does (its
                  checksum: the SHA-256 of the file)
"""
import hashlib
import os
import re
import sys
import uuid

POSTGRES = {"postgres", "postgresql", "pg", "pgx"}
DIALECTS = POSTGRES | {"sqlite", "sqlite3", "mysql", "mariadb", "cockroach",
                       "cockroachdb", "crdb"}


def quote(path):
    return "'" + path.replace("'", "''") + "'"


SQLITE = False


def step(out, path, tx):
    if tx:
        out.append("BEGIN;")
    out.append((".read " if SQLITE else "\\i ") + quote(path))
    if tx:
        out.append("COMMIT;")


def diesel(d, names, out):
    # Diesel's version: the name up to the first '_', without dashes,
    # ordered as a string
    for n in sorted(names, key=lambda n: (n.split("_")[0].replace("-", ""), n)):
        p = os.path.join(d, n)
        if not os.path.isfile(os.path.join(p, "up.sql")):
            continue
        tx = True
        meta = os.path.join(p, "metadata.toml")
        if os.path.isfile(meta):
            m = re.search(r"^\s*run_in_transaction\s*=\s*(true|false)", open(meta).read(), re.M)
            tx = bool(m) and m.group(1) == "true"
        step(out, os.path.join(p, "up.sql"), tx)


def popx(d, names, out):
    versions = {}
    for n in names:
        m = re.match(r"^(\d+)_(.+)\.up\.(sql|fizz)$", n)
        if not m:
            continue
        parts = m.group(2).split(".")
        auto = parts[-1] == "autocommit"
        if auto:
            parts = parts[:-1]
        dialect = parts[-1] if len(parts) > 1 and parts[-1] in DIALECTS else None
        versions.setdefault(int(m.group(1)), []).append((dialect, auto, n, m.group(3)))
    for v in sorted(versions):
        files = versions[v]
        mine = {"sqlite3", "sqlite"} if SQLITE else POSTGRES
        pick = [f for f in files if f[0] in mine] or [f for f in files if f[0] is None]
        if not pick:
            continue
        dialect, auto, n, ext = pick[0]
        if ext == "fizz":
            sys.exit("reference: %s: fizz migrations are not plain SQL" % n)
        step(out, os.path.join(d, n), not auto)


def golang_migrate(d, names, out):
    ups = sorted((int(m.group(1)), n) for n in names
                 for m in [re.match(r"^(\d+)_.*\.up\.sql$", n)] if m)
    for _, n in ups:
        step(out, os.path.join(d, n), False)


NON_TRANSACTIONAL = re.compile(
    r"^\s*((CREATE|DROP)(\s+UNIQUE)?\s+INDEX\s+CONCURRENTLY"
    r"|REINDEX(\s+VERBOSE)?\s+(SCHEMA|DATABASE|SYSTEM)"
    r"|REINDEX(\s*\([^)]*\))?\s+(INDEX|TABLE)\s+CONCURRENTLY"
    r"|VACUUM|(CREATE|DROP)\s+(DATABASE|TABLESPACE|SUBSCRIPTION)"
    r"|ALTER\s+SYSTEM|DISCARD\s+ALL)\b", re.I)


def statements(text):
    # good enough for the scripts at hand: comments out, split at ';'
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"--[^\n]*", "", text)
    return text.split(";")


def flyway(d, names, out):
    vs = []
    for n in names:
        m = re.match(r"^V([\d._]+)__.*\.sql$", n)
        if m:
            vs.append(([int(x) for x in re.split(r"[._]", m.group(1))], n))
    for _, n in sorted(vs):
        p = os.path.join(d, n)
        text = open(p, encoding="utf-8").read()
        step(out, p, not any(NON_TRANSACTIONAL.match(st) for st in statements(text)))


def section(d, n, tmp, begin, end, notx):
    text = open(os.path.join(d, n), encoding="utf-8").read()
    lines = text.split("\n")
    up, on, tx = [], False, True
    for line in lines:
        s = line.strip()
        if begin.match(s):
            on = True
            if notx.search(s):
                tx = False
            continue
        if end.match(s):
            on = False
            continue
        if re.match(r"^--\s*\+goose\s+no\s+transaction", s, re.I):
            tx = False
        if on:
            up.append(line)
    path = os.path.join(tmp, n)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(up) + "\n")
    return path, tx


def singles(d, names, out, tmp, goose):
    vs = sorted((int(m.group(1)), n) for n in names
                for m in [re.match(r"^(\d+)_.*\.sql$", n)] if m)
    if goose:
        # goose's annotations are case-insensitive
        begin = re.compile(r"^--\s*\+goose\s+up\b", re.I)
        end = re.compile(r"^--\s*\+goose\s+down\b", re.I)
        notx = re.compile(r"$^")
    else:
        begin, end = re.compile(r"^--\s*migrate:up"), re.compile(r"^--\s*migrate:down")
        notx = re.compile(r"transaction:false")
    for _, n in vs:
        path, tx = section(d, n, tmp, begin, end, notx)
        step(out, path, tx)


SQLX_TABLE = ("CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, "
              "description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), "
              "success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, "
              "execution_time BIGINT NOT NULL);")
SQLX_TABLE_SQLITE = ("CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, "
                     "description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT "
                     "CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, "
                     "execution_time BIGINT NOT NULL);")


def sqlx(d, names, out):
    out.append(SQLX_TABLE_SQLITE if SQLITE else SQLX_TABLE)
    vs = sorted((int(m.group(1)), n) for n in names
                for m in [re.match(r"^(\d+)_.*\.sql$", n)] if m)
    for v, n in vs:
        p = os.path.join(d, n)
        raw = open(p, "rb").read()
        tx = not raw.decode("utf-8").startswith("-- no-transaction")
        # sqlx's row, in the migration's transaction: its description is
        # the name with spaces, its checksum the SHA-384 of the file
        desc = n[n.index("_") + 1:-len(".sql")].replace("_", " ")
        blob = ("X'%s'" if SQLITE else "decode('%s', 'hex')") % hashlib.sha384(raw).hexdigest()
        if tx:
            out.append("BEGIN;")
        out.append((".read " if SQLITE else "\\i ") + quote(p))
        out.append("INSERT INTO _sqlx_migrations (version, description, success, checksum, "
                   "execution_time) VALUES (%d, '%s', TRUE, %s, -1);"
                   % (v, desc.replace("'", "''"), blob))
        if tx:
            out.append("COMMIT;")


PRISMA_TABLE = ('CREATE TABLE IF NOT EXISTS "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY '
                'NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, '
                '"migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" '
                'TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), '
                '"applied_steps_count" INTEGER NOT NULL DEFAULT 0);')
PRISMA_TABLE_SQLITE = ('CREATE TABLE IF NOT EXISTS "_prisma_migrations" ("id" TEXT PRIMARY KEY '
                       'NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME, '
                       '"migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME, '
                       '"started_at" DATETIME NOT NULL DEFAULT current_timestamp, '
                       '"applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0);')


def prisma(d, names, out):
    out.append(PRISMA_TABLE_SQLITE if SQLITE else PRISMA_TABLE)
    now = "CAST(strftime('%s', 'now') AS INTEGER) * 1000" if SQLITE else "now()"
    for n in sorted(n for n in names if os.path.isfile(os.path.join(d, n, "migration.sql"))):
        p = os.path.join(d, n, "migration.sql")
        raw = open(p, "rb").read()
        tx = not any(NON_TRANSACTIONAL.match(st) for st in statements(raw.decode("utf-8")))
        if tx:
            out.append("BEGIN;")
        out.append((".read " if SQLITE else "\\i ") + quote(p))
        if tx:
            out.append("COMMIT;")
        # Prisma's row once the script has run: its checksum the SHA-256
        # of the file
        out.append("INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, "
                   "started_at, applied_steps_count) VALUES ('%s', '%s', %s, '%s', %s, 1);"
                   % (uuid.uuid4(), hashlib.sha256(raw).hexdigest(), now,
                      n.replace("'", "''"), now))


def atlas(d, names, out):
    # <version>_<name>.sql beside atlas.sum, versions as numbers; each file
    # in a transaction (--tx-mode file, Atlas's default) unless its header
    # (comment lines at the top, ended by an empty line) says
    # '-- atlas:txmode none'
    vs = sorted((int(m.group(1)), n) for n in names
                for m in [re.match(r"^(\d+)_.*\.sql$", n)] if m)
    for _, n in vs:
        p = os.path.join(d, n)
        lines = open(p, encoding="utf-8").read().split("\n")
        head = 0
        while head < len(lines) and lines[head].startswith("--"):
            head += 1
        none = (head < len(lines) and lines[head].strip() == "" and
                any(re.match(r"^--\s*atlas:txmode\s+none\b", s) for s in lines[:head]))
        step(out, p, not none)


def layout(d, names):
    if "atlas.sum" in names:
        return "atlas"
    if any(os.path.isfile(os.path.join(d, n, "up.sql")) for n in names):
        return "diesel"
    if any(os.path.isfile(os.path.join(d, n, "migration.sql")) for n in names):
        return "prisma"
    if any(re.match(r"^\d+_.*\.(\w+)(\.autocommit)?\.up\.(sql|fizz)$", n) and
           n.split(".")[-3] in DIALECTS | {"autocommit"} for n in names):
        return "popx"
    if any(n.endswith(".up.sql") for n in names):
        return "golang-migrate"
    if any(re.match(r"^V[\d._]+__", n) for n in names):
        return "flyway"
    texts = [open(os.path.join(d, n), encoding="utf-8").read() for n in names
             if n.endswith(".sql")]
    if any("+goose up" in t.lower() for t in texts):
        return "goose"
    if not any(re.search(r"^\s*--\s*migrate:", t, re.M) for t in texts):
        return "sqlx"
    return "dbmate"


def main():
    global SQLITE
    args = sys.argv[1:]
    if args[:1] == ["--sqlite"]:
        SQLITE = True
        args = args[1:]
    d, out_path = args[0], args[1]
    names = os.listdir(d)
    kind = layout(d, names)
    out = [".bail on"] if SQLITE else ["\\set ON_ERROR_STOP on"]
    tmp = os.path.dirname(os.path.abspath(out_path))
    writers = {"diesel": diesel, "popx": popx, "golang-migrate": golang_migrate,
               "flyway": flyway, "sqlx": sqlx, "prisma": prisma, "atlas": atlas}
    if kind in writers:
        writers[kind](d, names, out)
    else:  # dbmate, goose
        singles(d, names, out, tmp, kind == "goose")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(kind)


main()
