# t_hooks.sh - [hook "NAME"] programs as callbacks of migrate and rollback:
# run from an argv with the run's facts in their environment, output to the
# log and the report, critical ones stop the run, a timeout kills the
# hook's whole process group, a missing hook or program stops everything
# before anything runs.

hook_script() {
	cat > check.sh <<'EOF'
#!/bin/sh
echo "$1 $DBSHIFT_STEP $DBSHIFT_STATUS $DBSHIFT_RUN_ID env=$DBSHIFT_ENV db=$DBSHIFT_DATABASE_URL x=$X"
echo "$DBSHIFT_STEP" >> calls
exit ${FAIL:-0}
EOF
	chmod +x check.sh
}

# gone PID: wait (10 s at most) until process PID no longer exists.
gone() {
	local i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -0 "$1" 2>/dev/null && echo alive || echo gone
}

t_hooks() {
	project hooks
	local url; url=$(newdb hooks) tag="$DRIVER hooks"
	local shown; shown=$("$DBSHIFT" --database "$url" --json status | jq -r .database)
	hook_script
	good_migration 1_items.sql items
	cat > dbshift.conf <<'EOF'
[dbshift]
before_migrate = pre
after_migrate = post
after_rollback = post
on_failure = alarm

[env "staging"]
after_migrate = soft

[hook "pre"]
run = ./check.sh "one word"
env = X=1

[hook "post"]
run = ./check.sh post

[hook "soft"]
run = ./check.sh soft
env = FAIL=3
critical = false

[hook "alarm"]
run = ./check.sh alarm
EOF
	dbs --database "$url" migrate
	check_rc 0 "$tag: migrate with hooks"
	check_eq "$(cat calls)" "before_migrate
after_migrate" "$tag: before and after, in order"
	local id; id=$(sql "$url" "SELECT run_id FROM dbshift_runs ORDER BY started_at DESC, run_id DESC LIMIT 1")
	check_eq "$(jq -c '[.steps[] | [.hook // .name, .action, .status]]' "reports/$id.json")" \
		'[["pre","before_migrate","succeeded"],["items","up","succeeded"],["post","after_migrate","succeeded"]]' "$tag: hooks are steps of the report"
	check_eq "$(jq -r '.steps[0].output[0]' "reports/$id.json")" "one word before_migrate running $id env= db=$shown x=1" \
		"$tag: argv grouped by quotes, the run's facts and env= in its environment"
	check_contains "$(cat logs/dbshift.log)" "[$id] hook post: post after_migrate succeeded $id" "$tag: its output is in the log"
	check_lacks "$(cat reports/"$id".json logs/dbshift.log)" "s3cret-pw" "$tag: no password reaches a hook"
	check_eq "$(jq -c '.summary | [.total, .succeeded, .failed]' "reports/$id.json")" "[1,1,0]" \
		"$tag: hooks are no steps of the summary"
	check_eq "$(stat -c %a reports "reports/$id.json")" "700
600" "$tag: the report directory and file are the owner's only"

	dbs --database "$url" rollback
	check_rc 0 "$tag: rollback"
	check_eq "$(tail -n 1 calls)" "after_rollback" "$tag: after_rollback ran"

	rm -f calls
	dbs --database "$url" --env staging migrate
	check_rc 0 "$tag: a non-critical hook that fails does not fail the run"
	check_eq "$ERR" "dbshift: warning: hook 'soft' failed (exit 3)" "$tag: it is a warning"
	check_eq "$(cat calls)" "before_migrate
after_migrate" "$tag: and on_failure did not run"

	# a critical before_migrate that fails stops the migrate before its first step
	dbs --database "$url" rollback
	rm -f calls
	sed -i 's/^env = X=1$/env = X=1 FAIL=4/' dbshift.conf
	dbs --database "$url" migrate
	check_rc 1 "$tag: a critical hook that fails fails the run"
	check_eq "$(echo "$ERR" | head -n 2)" "dbshift: error: hook 'pre' failed (exit 4)
HINT: its output is in the log and the run's report; fix what it reports, or mark it critical = false if the run may go on without it" "$tag: naming it, and what to do"
	check_eq "$(cat calls)" "before_migrate
on_failure" "$tag: nothing after it but on_failure"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_migrations WHERE status = 'applied'")" "0" "$tag: no migration ran"
	id=$(sql "$url" "SELECT run_id FROM dbshift_runs ORDER BY started_at DESC, run_id DESC LIMIT 1")
	check_eq "$(jq -c '.summary | [.total, .succeeded, .failed]' "reports/$id.json")" "[0,0,0]" \
		"$tag: a failed callback and on_failure are no succeeded steps"
	sed -i 's/^env = X=1 FAIL=4$/env = X=1/' dbshift.conf

	# a hook past its timeout is killed with its children
	cat >> dbshift.conf <<'EOF'

[hook "slow"]
run = sh -c "sleep 60 & echo $! > child.pid; echo waiting; wait"
timeout = 300ms
EOF
	sed -i 's/^before_migrate = pre$/before_migrate = slow/' dbshift.conf
	rm -f child.pid
	dbs --database "$url" migrate
	check_rc 1 "$tag: a hook past its timeout fails the run"
	check_eq "$(echo "$ERR" | head -n 2)" "dbshift: error: hook 'slow' ran past its timeout of 300 ms and was killed, with its process group
HINT: make it finish sooner, or raise timeout in [hook \"slow\"]" "$tag: and says so"
	check_eq "$(gone "$(cat child.pid)")" "gone" "$tag: its child was killed too"
	id=$(sql "$url" "SELECT run_id FROM dbshift_runs ORDER BY started_at DESC, run_id DESC LIMIT 1")
	check_eq "$(jq -r '.steps[0].output[0]' "reports/$id.json")" "waiting" "$tag: what it wrote is in the report"

	# a hook that is not defined, or whose program is not there: exit 2, nothing runs
	local before; before=$(snapshot "$url")
	sed -i 's/^before_migrate = slow$/before_migrate = nosuch/' dbshift.conf
	dbs --database "$url" migrate
	check_rc 2 "$tag: a callback naming no hook is an input error"
	check_eq "$ERR" "dbshift: error: dbshift.conf:2:1: before_migrate names hook 'nosuch', which is not defined
HINT: define it in a [hook \"NAME\"] section, with run = ..." "$tag: naming file, line and hook"
	sed -i 's/^before_migrate = nosuch$/before_migrate = pre/; s|^run = ./check.sh post$|run = ./missing.sh post|' dbshift.conf
	dbs --database "$url" migrate
	check_rc 2 "$tag: a hook whose program is missing is an input error"
	check_eq "$ERR" "dbshift: error: hook 'post' cannot run: no program './missing.sh'
HINT: fix run = ... in [hook \"post\"] (a path, or a program on PATH, made executable); nothing was run" "$tag: naming the hook and program"
	check_eq "$(snapshot "$url")" "$before" "$tag: and nothing ran"
	hook_config_errors
	cd "$WORK" || return
}

# hook_config_errors: what a [hook] section cannot say is an input error at
# its line, before anything runs; cwd is where the hook runs.
hook_config_errors() {
	local conf
	for conf in '[hook "a"]\ntimeout = 1s\n|dbshift: error: dbshift.conf:1:1: hook '"'a'"' has no run
HINT: add run = PROGRAM ARGS...' \
		'[hook "a"]\nrun = true\nshell = yes\n|dbshift: error: dbshift.conf:3:1: unknown key '"'shell'"' in [hook "a"]
HINT: hook keys: run, timeout, env, cwd, critical' \
		'[hook "a"]\nrun = true\nenv = not a pair\n|dbshift: error: dbshift.conf:3:1: bad env '"'not a pair'"'
HINT: write KEY=VALUE words (a bare KEY passes on the value dbshift has)' \
		'[hook "a"]\nrun = "unclosed\n|dbshift: error: dbshift.conf:2:1: bad run '"'\"unclosed'"'
HINT: write the program and its arguments; quotes group words (there is no shell)' \
		'[hook "a"]\nrun = true\n[hook "a"]\nrun = false\n|dbshift: error: dbshift.conf:3:1: hook '"'a'"' is defined twice
HINT: give each hook its own name'; do
		printf "${conf%%|*}" > dbshift.conf
		dbs --database "$url" status
		check_rc 2 "$tag: bad hook config exits 2 (${conf%%\\n*})"
		check_eq "$ERR" "${conf#*|}" "$tag: naming the line and what to write"
	done
	mkdir -p sub
	printf '[dbshift]\nafter_migrate = where\n[hook "where"]\nrun = pwd\ncwd = sub\n' > dbshift.conf
	sql "$url" "DELETE FROM dbshift_migrations" >/dev/null
	sql "$url" "DROP TABLE IF EXISTS items" >/dev/null
	dbs --database "$url" migrate
	check_rc 0 "$tag: a hook with cwd"
	local id; id=$(sql "$url" "SELECT run_id FROM dbshift_runs ORDER BY started_at DESC, run_id DESC LIMIT 1")
	check_eq "$(jq -r '.steps[1].output[0]' "reports/$id.json")" "$PWD/sub" "$tag: runs in its cwd"
}
