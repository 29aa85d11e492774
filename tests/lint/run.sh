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

# output formats against expected files
for f in text json sarif github; do
	check_eq "$(cd formats && "$DBSHIFT" lint --format "$f" 1_sample.sql)" "$(cat "formats/expected.$f")" "lint --format $f matches formats/expected.$f"
done

echo "lint: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
