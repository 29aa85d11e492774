#!/usr/bin/env bash
# real-settings.sh - real projects' settings and .env files, as they are in
# their repositories, through the release steps settings:NAME and
# dotenv:NAME (bench/real-settings.list: the project, commit, file, kind,
# and the rename, set and remove asked of it):
#
#   dry run    release --dry-run changes nothing (the file byte for byte)
#   values     the file read back by Python's own readers (PyYAML, json,
#              a .env reader) holds what was asked, and nothing else
#              changed (bench/settings_check.py)
#   comments   every comment line of the file is still there
#   again      a second release changes nothing
#   rollback   release --rollback puts the file back byte for byte
#
# The projects are fetched as real-histories.sh fetches them (a bare,
# blob-less clone at the commit named, into build-bench/repos; REPOS_FROM
# is where from).  Nothing fetched is kept in this repository.
. "$(dirname "$0")/common.sh"
[ -n "${REPOS_FROM:-}" ] || REPOS_FROM='https://github.com/{owner}/{name}.git'
REPOS=$ROOT/build-bench/repos

printf '%-26s %-40s %-8s %-8s %-7s %-9s %-6s %-9s\n' PROJECT FILE CHANGES "DRY RUN" VALUES COMMENTS AGAIN ROLLBACK
trim() { sed 's/^ *//; s/ *$//' <<<"$1"; }
n=0
while IFS='|' read -r head rename set remove; do
	read -r owner_name commit file kind <<<"$head"
	case $owner_name in ''|'#'*) continue ;; esac
	n=$((n + 1))
	owner=${owner_name%%/*} name=${owner_name#*/}
	src=${REPOS_FROM//'{owner}'/$owner}
	src=${src//'{name}'/$name}
	bare=$REPOS/$owner+$name.git
	[ -d "$src" ] && bare=$src
	if ! git -C "$bare" cat-file -e "$commit^{commit}" 2>/dev/null; then
		rm -rf "$bare"
		git clone -q --bare --filter=blob:none "$src" "$bare" >&2
	fi
	p=$WORK/p$n
	mkdir -p "$p/migrations"
	git -C "$bare" archive "$commit" "$file" 2>/dev/null | tar -x -C "$p"
	cp "$p/$file" "$WORK/original"
	{
		printf '[dbshift]\ndatabase = sqlite:%s/app.db\n\n[release]\n' "$p"
		printf 'steps = %s:real\nrollback_steps = %s:real rollback\n\n' "$kind" "$kind"
		printf '[%s "real"]\nfile = %s\n' "$kind" "$file"
		if [ -n "$(trim "$rename")" ]; then printf 'rename = %s\n' "$(trim "$rename")"; fi
		if [ -n "$(trim "$set")" ]; then printf 'set = %s\n' "$(trim "$set")"; fi
		if [ -n "$(trim "$remove")" ]; then printf 'remove = %s\n' "$(trim "$remove")"; fi
	} > "$p/dbshift.conf"
	cd "$p"
	dry=failed values=- comments=- again=- rollback=- changes=-
	if "$DBSHIFT" release --dry-run >"$WORK/out" 2>&1 && cmp -s "$file" "$WORK/original"; then
		dry=ok
	fi
	if "$DBSHIFT" --json release >"$WORK/out" 2>"$WORK/err"; then
		changes=$(jq '.steps[0].result.changes | length' "$WORK/out")
		check=$(/usr/bin/python3 "$ROOT/bench/settings_check.py" "$kind" "$WORK/original" "$file" \
			"$(trim "$rename")" "$(trim "$set")" "$(trim "$remove")" 2>&1) || true
		case $check in
		ok) values=ok comments=ok ;;
		*"a comment is gone"*) values=ok comments=LOST; echo "$check" >&2 ;;
		*) values=DIFFER; echo "$owner_name $file: $check" >&2 ;;
		esac
		"$DBSHIFT" --json release >"$WORK/out" 2>"$WORK/err" || true
		[ "$(jq '.steps[0].result.changes | length' "$WORK/out")" = 0 ] && again=ok || again=CHANGED
		"$DBSHIFT" release --rollback >"$WORK/out" 2>&1 && cmp -s "$file" "$WORK/original" &&
			rollback=identical || rollback=DIFFERS
	else
		changes="failed: $(sed -n 's/^dbshift: error: //p' "$WORK/err" | head -n 1)"
	fi
	cd "$ROOT"
	printf '%-26s %-40s %-8s %-8s %-7s %-9s %-6s %-9s\n' "$owner_name" "$file" "$changes" "$dry" \
		"$values" "$comments" "$again" "$rollback"
done < "$ROOT/bench/real-settings.list"
