#!/usr/bin/env bash
# run.sh [DBSHIFT] - lint rule cases and output formats.
#
# cases/RULE/bad.sql must give exactly the findings in cases/RULE/expected
# ("rule line:col", one a line); good.sql must give those in
# good.expected (none when the file is absent).  setup.sql, when present,
# is linted first so the model knows the columns' types; "dialect" says
# sqlite for SQLite rules.  A case named RULE+WHAT is a second case of
# RULE.  formats/ holds one migration and the expected
# output of every --format.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
DBSHIFT=$(realpath "${1:-$HERE/../../build/dbshift}")
. "$HERE/../integration/lib.sh"
WORK=$(mktemp -d /tmp/dbshift-lint.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

findings() {  # FILE...: "rule line:col" of the last file's unallowed findings
	local last=${*: -1}
	"$DBSHIFT" $DIALECT lint --format json "$@" |
		jq -r --arg f "$last" '.migrations[] | select(.file == $f) | .statements[].findings[] | select(.allowed | not) | "\(.rule) \(.line):\(.col)"'
}

cd "$HERE/cases" || exit 1
for rule in */; do
	rule=${rule%/}
	DIALECT=""
	[ -f "$rule/dialect" ] && DIALECT="--database sqlite::memory:"
	setup=()
	[ -f "$rule/setup.sql" ] && setup=("$rule/setup.sql")
	check_eq "$(findings "${setup[@]}" "$rule/bad.sql")" "$(cat "$rule/expected" 2>/dev/null)" "lint $rule: bad SQL gives the exact findings"
	check_contains "$(cat "$rule/expected" 2>/dev/null)" "${rule%%+*} " "lint $rule: the case exercises its rule"
	check_eq "$(findings "${setup[@]}" "$rule/good.sql")" "$(cat "$rule/good.expected" 2>/dev/null)" "lint $rule: the fixed SQL is clean"
done

# exit codes and --fail-on
cd "$HERE" || exit 1
DIALECT=""
dbs lint cases/dml-without-where/bad.sql
check_rc 1 "lint: a red finding exits 1"
dbs lint cases/prefer-jsonb/bad.sql
check_rc 0 "lint: a yellow finding exits 0 with the default --fail-on red"
dbs lint --fail-on yellow cases/prefer-jsonb/bad.sql
check_rc 1 "lint: --fail-on yellow fails on yellow"
dbs lint --fail-on purple cases/prefer-jsonb/bad.sql
check_rc 2 "lint: a bad --fail-on is a usage error"

# suppressions
printf -- '-- migrate:up\n-- dbshift:allow dml-without-where\nDELETE FROM items;\n' > "$WORK/1_noreason.sql"
dbs lint "$WORK/1_noreason.sql"
check_rc 0 "lint: an allowed finding does not fail"
check_contains "$OUT" "warning: $WORK/1_noreason.sql:2: dbshift:allow dml-without-where without a reason: say why it is safe" "lint: an allow without a reason warns"
printf -- '-- migrate:up\n-- dbshift:allow no-such-rule because\nDELETE FROM items;\n' > "$WORK/2_unknown.sql"
dbs lint "$WORK/2_unknown.sql"
check_rc 2 "lint: an unknown rule in allow is an input error"
check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: $WORK/2_unknown.sql:2:1: unknown rule 'no-such-rule' in dbshift:allow" "lint: unknown rule message names file:line"
printf -- '-- migrate:up\n-- dbshift:allow truncate not this one\nDELETE FROM items;\n' > "$WORK/3_unused.sql"
dbs lint "$WORK/3_unused.sql"
check_rc 1 "lint: an allow for another rule does not hide the finding"
check_contains "$OUT" "dbshift:allow truncate matches no finding of the next statement" "lint: an unused allow warns"

# the lock each statement takes, and what counts as an existing table
mkdir -p "$WORK/plan"
printf -- "-- migrate:up\nSET lock_timeout = '2s';\nLOCK TABLE items IN SHARE MODE;\nLOCK TABLE a, b;\nCREATE TRIGGER t BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION f();\nALTER INDEX items_idx RENAME TO items_idx2;\nALTER TABLE items RENAME TO things;\n" > "$WORK/plan/1_locks.sql"
printf -- "-- migrate:up\nCREATE TABLE fresh (id bigint PRIMARY KEY, v text);\n" > "$WORK/plan/2_fresh.sql"
printf -- "-- migrate:up\nCREATE INDEX fresh_v ON fresh (v);\nCREATE INDEX things_v ON things (v);\n" > "$WORK/plan/3_index.sql"
check_eq "$("$DBSHIFT" --dir "$WORK/plan" lint --format json |
	jq -r '.migrations[].statements[] | "\(.line) \(.kind) \(.lock) \(.tables | join(",")) \([.findings[].rule] | join(","))"')" \
"2 SET null  
3 LOCK SHARE items 
4 LOCK ACCESS EXCLUSIVE a,b 
5 CREATE TRIGGER SHARE ROW EXCLUSIVE items 
6 RENAME SHARE UPDATE EXCLUSIVE items_idx 
7 RENAME ACCESS EXCLUSIVE items rename
2 CREATE TABLE ACCESS EXCLUSIVE fresh 
2 CREATE INDEX SHARE fresh 
3 CREATE INDEX SHARE things index-not-concurrent" \
	"lint: LOCK TABLE, CREATE TRIGGER and ALTER INDEX RENAME take their own locks; a table created by an earlier pending migration is not an existing one"

# lock_timeout set for the project: no missing-lock-timeout
printf -- "-- migrate:up\nALTER TABLE items ADD COLUMN note text;\n" > "$WORK/4_note.sql"
check_eq "$("$DBSHIFT" lint --format json "$WORK/4_note.sql" | jq -r '[.migrations[].statements[].findings[].rule] | join(",")')" \
	"missing-lock-timeout" "lint: without a lock_timeout, missing-lock-timeout"
printf '[dbshift]\nlock_timeout = 2s\n' > "$WORK/lt.conf"
check_eq "$("$DBSHIFT" --config "$WORK/lt.conf" lint --format json "$WORK/4_note.sql" | jq -r '[.migrations[].statements[].findings[].rule] | join(",")')" \
	"" "lint: lock_timeout in dbshift.conf: no missing-lock-timeout"
printf '[dbshift]\n[env "prod"]\nlock_timeout = 2s\n' > "$WORK/lt_env.conf"
check_eq "$("$DBSHIFT" --config "$WORK/lt_env.conf" --env prod lint --format json "$WORK/4_note.sql" | jq -r '[.migrations[].statements[].findings[].rule] | join(",")')" \
	"" "lint: lock_timeout in the environment's section: no missing-lock-timeout"

# the project's lint settings: rules excluded, the PostgreSQL version
printf -- "-- migrate:up\nALTER TABLE items ADD COLUMN note varchar(20) DEFAULT 'x';\nALTER INDEX items_idx RENAME TO items_idx2;\n" > "$WORK/8_project.sql"
lint_rules() {  # CONF: "rule line" of each finding, and the locks
	"$DBSHIFT" --config "$1" lint --format json "$WORK/8_project.sql" |
		jq -r '.migrations[].statements[] | "\(.line) \(.lock) \([.findings[].rule] | join(","))"'
}
printf '[dbshift]\n' > "$WORK/p0.conf"
check_eq "$(lint_rules "$WORK/p0.conf")" "2 ACCESS EXCLUSIVE prefer-text,missing-lock-timeout
3 SHARE UPDATE EXCLUSIVE " "lint: by default, what a current PostgreSQL does"
printf '[dbshift]\nlint_exclude = prefer-text missing-lock-timeout\n' > "$WORK/p1.conf"
check_eq "$(lint_rules "$WORK/p1.conf")" "2 ACCESS EXCLUSIVE 
3 SHARE UPDATE EXCLUSIVE " "lint: lint_exclude drops those rules for the project"
printf '[dbshift]\nlint_exclude = prefer-text\npg_version = 10\n' > "$WORK/p2.conf"
check_eq "$(lint_rules "$WORK/p2.conf")" "2 ACCESS EXCLUSIVE add-column-volatile-default,missing-lock-timeout
3 ACCESS EXCLUSIVE missing-lock-timeout" "lint: pg_version = 10: a default rewrites, an index rename takes ACCESS EXCLUSIVE"
printf '[dbshift]\nlint_exclude = no-such-rule\n' > "$WORK/p3.conf"
dbs --config "$WORK/p3.conf" lint "$WORK/8_project.sql"
check_rc 2 "lint: an unknown rule in lint_exclude: exit 2"
check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: $WORK/p3.conf:2:1: bad lint_exclude 'no-such-rule'" "lint: at its line"

# deep statements: analysed on a deep stack, or refused; never a crash
python3 -c "print('-- migrate:up\nSELECT s' + '+' * 4600 + '1;')" > "$WORK/5_unary.sql"
dbs lint "$WORK/5_unary.sql"
check_rc 0 "lint: a chain of 4,600 unary + is analysed (it overflowed the stack)"
python3 -c "print('-- migrate:up\nSELECT ' + '(SELECT ' * 3000 + '1' + ')' * 3000 + ';')" > "$WORK/6_nested.sql"
dbs lint "$WORK/6_nested.sql"
check_rc 0 "lint: 3,000 nested subqueries are analysed"
python3 -c "print('-- migrate:up\nSELECT s' + '+' * 20000 + '1;')" > "$WORK/7_deeper.sql"
dbs lint "$WORK/7_deeper.sql"
check_rc 2 "lint: 20,000 unary + are refused"
check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: $WORK/7_deeper.sql:2:1: statement nested too deeply to analyse" \
	"lint: saying where"

# output formats against expected files
for f in text json sarif github; do
	check_eq "$(cd formats && "$DBSHIFT" lint --format "$f" 1_sample.sql)" "$(cat "formats/expected.$f")" "lint --format $f matches formats/expected.$f"
done

echo "lint: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
