# t_input_errors.sh - every input error exits 2, says what is wrong and where
# and what to do, and changes nothing in the database.

# input_case NAME EXPECTED_STDERR_FIRST_LINE ARGS...: with the project in cwd.
input_case() {
	local name=$1 expected=$2
	shift 2
	local before; before=$(snapshot "$URL")
	dbs "$@"
	check_rc 2 "$DRIVER input $name: exit 2"
	check_eq "$(echo "$ERR" | head -n 1)" "$expected" "$DRIVER input $name: message"
	check_contains "$ERR" "HINT: " "$DRIVER input $name: a hint says what to do"
	check_eq "$(snapshot "$URL")" "$before" "$DRIVER input $name: database unchanged"
}

good_migration() {
	printf -- '-- migrate:up\nCREATE TABLE %s (id bigint PRIMARY KEY);\n-- migrate:down\nDROP TABLE %s;\n' "$2" "$2" > "migrations/$1"
}

t_input_errors() {
	project inputs
	URL=$(newdb inputs)
	good_migration 1_one.sql one
	dbs --database "$URL" migrate
	check_rc 0 "$DRIVER input: setup migrate"

	good_migration 2_two.sql two
	good_migration 2_deux.sql deux
	input_case "duplicate version" "dbshift: error: migrations/2_two.sql: duplicate version 2: also used by 'migrations/2_deux.sql'" --database "$URL" migrate
	rm migrations/2_deux.sql

	printf -- 'CREATE TABLE x (id int);\n' > migrations/3_noup.sql
	input_case "no up section" "dbshift: error: migrations/3_noup.sql:1:1: SQL before the up section" --database "$URL" migrate
	printf -- '-- just a comment\n' > migrations/3_noup.sql
	input_case "empty file" "dbshift: error: migrations/3_noup.sql:1:1: no up section" --database "$URL" migrate
	rm migrations/3_noup.sql

	printf -- '-- dbshift:no-transactions\n-- migrate:up\nSELECT 1;\n' > migrations/4_dir.sql
	input_case "unknown directive" "dbshift: error: migrations/4_dir.sql:1:1: unknown directive 'dbshift:no-transactions'" --database "$URL" migrate
	rm migrations/4_dir.sql

	printf 'SELECT 1;\n' > migrations/create_things.sql
	input_case "name of no format" "dbshift: error: migrations/create_things.sql: file name matches no migration format" --database "$URL" migrate
	rm migrations/create_things.sql

	mkdir -p apps/a apps/b
	mv migrations/1_one.sql apps/a/1_one.sql
	printf -- '-- dbshift:requires b:5\n-- migrate:up\nSELECT 1;\n' > apps/a/2_needs_b.sql
	printf -- '-- dbshift:requires a:2\n-- migrate:up\nSELECT 1;\n' > apps/b/5_needs_a.sql
	input_case "cycle" "dbshift: error: apps/a/2_needs_b.sql:1:1: dependency cycle: a:2 <- b:5 <- a:2" --database "$URL" --dir apps migrate
	rm -rf apps
	good_migration 1_one.sql one

	input_case "bad URL" "dbshift: error: unsupported database URL 'mysql://root:****@localhost/app'" --database "mysql://root:hunter2@localhost/app" migrate
	check_lacks "$ERR" "hunter2" "$DRIVER input bad URL: password not shown"

	printf '[dbshift]\ndir = migrations\ndatabse = %s\n' "$URL" > bad.conf
	input_case "unknown config key" "dbshift: error: bad.conf:3:1: unknown key 'databse' in [dbshift]" --config bad.conf --database "$URL" migrate
	printf '[dbshift]\n[envs "prod"]\n' > bad.conf
	input_case "unknown config section" "dbshift: error: bad.conf:2:1: unknown section [envs \"prod\"]" --config bad.conf --database "$URL" migrate

	mkdir -p locked && chmod 000 locked
	if [ "$(id -u)" = 0 ]; then
		# root reads anything: ask as an ordinary user
		local before; before=$(snapshot "$URL")
		OUT=$(runuser -u postgres -- "$DBSHIFT" --database "$URL" --dir locked migrate 2>"$WORK/.stderr"); RC=$?; ERR=$(cat "$WORK/.stderr")
		check_rc 2 "$DRIVER input unreadable directory: exit 2"
		check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: cannot read migrations directory 'locked': Permission denied" "$DRIVER input unreadable directory: message"
		check_eq "$(snapshot "$URL")" "$before" "$DRIVER input unreadable directory: database unchanged"
	else
		input_case "unreadable directory" "dbshift: error: cannot read migrations directory 'locked': Permission denied" --database "$URL" --dir locked migrate
	fi
	chmod 755 locked

	input_case "bad target" "dbshift: error: no migration 7" --database "$URL" migrate 7
	input_case "unknown option" "dbshift: error: unknown option '--dryrun' for migrate (did you mean --dry-run?)" --database "$URL" migrate --dryrun

	if [ "$DRIVER" = postgres ]; then
		local bad=${URL/$PG_PASSWORD/wrong-pw}
		input_case "wrong password" "dbshift: error: cannot connect to postgres://postgres@127.0.0.1:$PGPORT_TEST/inputs" --database "$bad" migrate
		check_lacks "$ERR$OUT" "wrong-pw" "$DRIVER input wrong password: password not shown"
		check_contains "$ERR" 'password authentication failed for user "postgres"' "$DRIVER input wrong password: says why"

		printf -- '-- migrate:up\nCREATE TABLE ok1 (id int);\nCREATE TABLE broken (id int,);\n' > migrations/5_syntax.sql
		input_case "syntax error" "dbshift: error: migrations/5_syntax.sql:3:29: syntax error at or near \")\"" --database "$URL" migrate
		rm migrations/5_syntax.sql

		printf -- '-- migrate:up\nCREATE TABLE c (a int);\nCOPY c (a) FROM stdin;\n1\n2\n\\.\n' > migrations/5_copy.sql
		input_case "COPY FROM stdin" "dbshift: error: migrations/5_copy.sql:3:1: COPY ... FROM stdin is not supported in migrations" --database "$URL" migrate
		rm migrations/5_copy.sql
	else
		input_case "unopenable SQLite file" "dbshift: error: cannot use database file '$WORK/nodir/x.db': its directory '$WORK/nodir' does not exist" --database "sqlite:$WORK/nodir/x.db" migrate
	fi
	cd "$WORK" || return
}
