# histories.sh - what the benchmarks on real migration histories share
# (sourced after common.sh): the projects of bench/real-histories.list
# (or of HISTORIES_LIST),
# fetched at their commits (fetch_list), what they need made first
# (roles, extensions, sqlx's history table), fresh databases with those
# extensions (newdb) and a project's own needs in them (project_db).
#
# histories_from_args [DIR...]: dirs, the migration directories (the
# list's projects, fetched, when none is given); NEEDS with DIR arguments.
[ -n "${REPOS_FROM:-}" ] || REPOS_FROM='https://github.com/{owner}/{name}.git'
REPOS=$ROOT/build-bench/repos

fetch_list() {  # prints the extracted directories
	local owner_name commit path needs owner name src bare out
	while read -r owner_name commit path needs _; do
		case $owner_name in ''|'#'*) continue ;; esac
		owner=${owner_name%%/*} name=${owner_name#*/}
		src=${REPOS_FROM//'{owner}'/$owner}
		src=${src//'{name}'/$name}
		bare=$REPOS/$owner+$name.git
		[ -d "$src" ] && bare=$src  # a local repository: read it where it is
		if ! git -C "$bare" cat-file -e "$commit^{commit}" 2>/dev/null; then
			rm -rf "$bare"
			git clone -q --bare --filter=blob:none "$src" "$bare" >&2
		fi
		out=$WORK/src/$owner+$name
		mkdir -p "$out"
		git -C "$bare" archive "$commit" "$path" | tar -x -C "$out"
		echo "$out/$path"
		printf '%s\t%s\n' "$out/$path" "${needs:-}" >> "$WORK/needs.tsv"
	done < "${HISTORIES_LIST:-$ROOT/bench/real-histories.list}"
}

histories_from_args() {
	if [ $# = 0 ]; then
		mkdir -p "$REPOS"
		mapfile -t dirs < <(fetch_list)
		NEEDS=$(awk '!/^#/ && $4 != "" && $4 != "-" { printf "%s,", $4 }' "${HISTORIES_LIST:-$ROOT/bench/real-histories.list}")
	else
		dirs=("$@")
		for d in "$@"; do printf '%s\t%s\n' "$d" "${NEEDS:-}" >> "$WORK/needs.tsv"; done
	fi
	EXTENSIONS=
	for need in ${NEEDS:+${NEEDS//,/ }}; do
		case $need in
		role:*) psql -X -q "$PG_ADMIN_URL" -c "CREATE ROLE \"${need#role:}\"" ;;
		extension:*) EXTENSIONS="$EXTENSIONS ${need#extension:}" ;;
		sqlx-table) ;;  # the project's own databases alone: project_db
		*) echo "histories.sh: '$need': a need is role:NAME, extension:NAME or sqlx-table" >&2; exit 2 ;;
		esac
	done
	newdb() {  # NAME: a fresh database with the extensions, its URL
		local url; url=$(pg_newdb "$1")
		for ext in $EXTENSIONS; do
			psql -X -q "$url" -c "CREATE EXTENSION IF NOT EXISTS \"$ext\""
		done
		echo "$url"
	}
}

# project_db DIR URL: what DIR's project needs in each of its databases:
# sqlx's history table, which its own migrations write to (sqlx makes it
# before the first migration)
project_db() {
	local needs
	needs=$(awk -F '\t' -v d="$1" '$1 == d { print $2 }' "$WORK/needs.tsv")
	case $needs in *sqlx-table*) ;; *) return 0 ;; esac
	psql -X -q "$2" -c "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)"
}

# What real-histories.sh and real-sqlite.sh share; each defines
# schema DB (its schema, dbshift's tables left out) and is_empty DB.

run_secs() {  # COMMAND...: wall time in seconds; the output in $WORK/out
	local t0 t1 rc=0
	t0=$(date +%s.%N)
	"$@" >"$WORK/out" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l | xargs printf '%.2f'
	return $rc
}

# adopt_after_tool DB DIR LABEL TOOL: where the reference ran as sqlx,
# Prisma or Drizzle does (its rows and checksums in _sqlx_migrations,
# _prisma_migrations or __drizzle_migrations), what 'dbshift adopt --yes'
# takes over, as status
# then counts the states (all "applied": no file drifted from the tool's
# checksum)
adopt_after_tool() {
	"$DBSHIFT" --database "$1" --dir "$2" adopt --yes >/dev/null 2>&1 ||
		echo "$3: adopt after $4's run: exit $?" >&2
	printf '  after %s'"'"'s own run, adopt --yes, then status: %s\n' "$4" "$("$DBSHIFT" \
		--database "$1" --dir "$2" --json status | jq -r '[.migrations[].state] |
		group_by(.) | map("\(length) \(.[0])") | join(", ")')"
}

first_error() {  # the first error line of the last run, shortened
	sed -n 's/^dbshift: error: //p' "$WORK/out" | head -n 1 | sed "s|$WORK/src/||" | cut -c1-240
}

# same_schema OURS REF N: identical=yes, or NO with the diff's head on
# stderr
same_schema() {
	if diff <(schema "$1") <(schema "$2") > "$WORK/diff$3"; then
		identical=yes
	else
		identical=NO
		head -n 20 "$WORK/diff$3" >&2
	fi
}

# rollback_all DB DIR: back= how 'dbshift rollback zero' ended: "ok", or
# "exit N"; irreversible migrations refuse (exit 3), then past them with
# --allow-irreversible, as a user would; "not empty" when tables are left
rollback_all() {
	local rc
	if run_secs "$DBSHIFT" --database "$1" --dir "$2" rollback zero >/dev/null; then
		back=ok
	else
		rc=$?
		back="exit $rc"
		first_error >&2
		[ $rc = 3 ] || return 0
		rc=0
		run_secs "$DBSHIFT" --database "$1" --dir "$2" rollback zero --allow-irreversible \
			>/dev/null || rc=$?
		if [ $rc != 0 ]; then
			back="exit $rc, --allow-irreversible"
			first_error >&2
			return 0
		fi
		back="ok, --allow-irreversible"
	fi
	is_empty "$1" || back="not empty${back#ok}"
}

# ratio_of OURS REF: OURS / REF as "1.23x", or - when either is missing
# or dbshift's migrate failed (applied is "exit N")
ratio_of() {
	if [ "$2" = - ] || [ "${applied#exit}" != "$applied" ]; then
		echo -
	else
		echo "$1 / $2" | bc -l | xargs printf '%.2fx'
	fi
}
