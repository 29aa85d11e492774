# t_release.sh - dbshift release: the steps of [release] as one run, with
# its report file, its row in dbshift_runs and its two alerts (to the real
# receiver of t_notify.sh, which also serves the health endpoint); a
# failed critical step stops it, a failed non-critical one does not;
# --dry-run changes nothing; --from resumes; hooks that time out or are
# missing; the rollback runbook under max_risk and require_backup.

release_project() {
	cat > migrations/1_items.sql <<'EOF'
-- migrate:up
CREATE TABLE items (id bigint PRIMARY KEY, note text);
INSERT INTO items (id) VALUES (1), (2), (3);
-- migrate:down
DROP TABLE items;
EOF
	printf -- '-- dbshift:data ../fill_note.sql\n-- migrate:up\nALTER TABLE items ADD COLUMN tag text;\n-- migrate:down\nALTER TABLE items DROP COLUMN tag;\n' > migrations/2_note.sql
	printf -- "-- dbshift:table items\n-- dbshift:key id\n-- dbshift:pending note IS NULL\nUPDATE items SET note = 'x' WHERE id > :lo AND id <= :hi AND note IS NULL;\n" > fill_note.sql
	cat > smoke.sh <<'EOF'
#!/bin/sh
echo "smoke $DBSHIFT_STEP $DBSHIFT_STATUS $DBSHIFT_RUN_ID"
echo "$DBSHIFT_STEP" >> calls
exit ${FAIL:-0}
EOF
	chmod +x smoke.sh
	cat > dbshift.conf <<EOF
[dbshift]
notify_url = http://127.0.0.1:$RECV_PORT/hook
check_http = http://127.0.0.1:$RECV_PORT/health
after_rollback = smoke

[release]
steps = doctor backup migrate data hook:smoke verify health
rollback_steps = rollback verify health
health_timeout = 30s

[env "retry"]
[release "retry"]
steps = health

[hook "smoke"]
run = ./smoke.sh
EOF
}

# last_run URL: the newest run's id.
last_run() {
	sql "$1" "SELECT run_id FROM dbshift_runs ORDER BY started_at DESC, run_id DESC LIMIT 1"
}

t_release() {
	project release
	local url; url=$(newdb release) tag="$DRIVER release"
	receiver_start
	release_project
	local shown; shown=$("$DBSHIFT" --database "$url" --json status | jq -r .database)

	# nothing to resume yet; a TARGET belongs to --rollback
	dbs --database "$url" release --from migrate
	check_rc 3 "$tag: --from with no earlier release is refused"
	check_eq "$ERR" "dbshift: error: --from migrate: no earlier release to resume
HINT: run the whole runbook, without --from" "$tag: saying so"
	check_eq "$(posts) $(post 1 '.body.dbshift | [.command, .status] | join(" ")')" "1 release failed" "$tag: the refusal is alerted"
	rm -f "$WORK/recv/posts"
	dbs --database "$url" release 1
	check_rc 2 "$tag: a TARGET without --rollback is a usage error"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: release takes a TARGET only with --rollback" "$tag: saying so"
	release_config_errors "$url"

	# --dry-run: every step and what it would do; nothing changes, nothing is posted
	local before; before=$(snapshot "$url")
	dbs --database "$url" release --dry-run
	check_rc 0 "$tag: --dry-run exits 0"
	check_eq "$(echo "$OUT" | grep -c '^ *[0-9]\. ')" "7" "$tag: --dry-run lists every step"
	check_contains "$OUT" " 2. backup           back up into backups/ (" "$tag: --dry-run names the backup target"
	# (the ALTER TABLE is on a table the plan creates: no missing-lock-timeout)
	check_contains "$OUT" " 3. migrate          apply 2 migrations, risk low (worst finding green; max_risk red)" "$tag: --dry-run gives the plan with its risk"
	check_contains "$OUT" " 5. hook:smoke       run [\"./smoke.sh\"]" "$tag: --dry-run gives each hook's argv"
	check_contains "$OUT" " 7. health           probe until all answer, for up to 30000 ms: http http://127.0.0.1:$RECV_PORT/health" "$tag: --dry-run gives the health targets"
	check_eq "$(snapshot "$url")" "$before" "$tag: --dry-run changes nothing in the database"
	local dry=$OUT
	dbs --database "$url" plan
	check_contains "$dry" "$(echo "$OUT" | grep '^risk: ')" "$tag: --dry-run words the risk as plan does"
	check_eq "$(ls backups 2>/dev/null | wc -l) $(posts) $(ls reports 2>/dev/null | wc -l)" "0 0 0" "$tag: --dry-run takes no backup, posts nothing, writes no report"

	# the whole runbook
	dbs --database "$url" release
	check_rc 0 "$tag: a release that succeeds end to end"
	local id; id=$(last_run "$url")
	check_eq "$(jq -c '[.steps[] | [.step, .status]]' "reports/$id.json")" \
		'[["doctor","succeeded"],["backup","succeeded"],["migrate","succeeded"],["data","succeeded"],["hook:smoke","succeeded"],["verify","succeeded"],["health","succeeded"]]' \
		"$tag: each step succeeded, in order, in the report file"
	check_eq "$(jq -c .summary "reports/$id.json")" '{"total":7,"succeeded":7,"failed":0,"skipped":0,"success_rate":100}' \
		"$tag: the summary counts them"
	check_eq "$(jq -r '[.steps[2].result.steps[] | .action] | join(",")' "reports/$id.json")" "up,up" \
		"$tag: migrate left the data migration to the data step"
	check_eq "$(jq -r '.steps[3].result.runs[0] | [.rows_changed, .finished] | join(" ")' "reports/$id.json")" "3 true" \
		"$tag: which ran it to the end"
	check_eq "$(sql "$url" "SELECT count(*) FROM items WHERE note = 'x'")" "3" "$tag: every row changed"
	check_eq "$(jq -r '.steps[4].result.output[0]' "reports/$id.json")" "smoke hook:smoke running $id" "$tag: the hook had the run's facts"
	check_eq "$(sql "$url" "SELECT command || ' ' || status FROM dbshift_runs WHERE run_id = '$id'")" "release succeeded" \
		"$tag: one row in dbshift_runs"
	check_eq "$(sql "$url" "SELECT count(*) FROM dbshift_runs")" "1" "$tag: and no row of its own for the migrate inside"
	check_eq "$(ls backups | wc -l)" "1" "$tag: the backup step took one backup (no second for the migrate)"
	check_eq "$(posts)" "2" "$tag: two POSTs for the whole release"
	check_eq "$(post 1 '.body.dbshift | [.command, .status, .run_id] | join(" ")') / $(post 2 '.body.dbshift | [.command, .status, .run_id, .report, .database, (.duration_ms | type)] | join(" ")')" \
		"release started $id / release succeeded $id reports/$id.json $shown number" "$tag: start, then success, with the run's facts"
	check_contains "$OUT" "release $id succeeded: 7 succeeded, 0 failed, 0 skipped (100.0% of the steps run succeeded)" \
		"$tag: the summary table ends with the totals"

	# a failing critical step stops the release; the steps after it are skipped
	printf -- '-- migrate:up\nCREATE TABLE more (id bigint PRIMARY KEY);\n-- migrate:down\nDROP TABLE more;\n' > migrations/3_more.sql
	sed -i 's|^run = ./smoke.sh$|run = ./smoke.sh\nenv = FAIL=1|' dbshift.conf
	dbs --database "$url" release
	check_rc 1 "$tag: a failing critical step fails the release"
	local failed; failed=$(last_run "$url")
	check_eq "$(jq -c '[.steps[] | .status]' "reports/$failed.json")" \
		'["succeeded","succeeded","succeeded","succeeded","failed","skipped","skipped"]' "$tag: the steps after it are skipped"
	check_eq "$(jq -c '.summary | [.failed, .skipped]' "reports/$failed.json")" "[1,2]" "$tag: and counted"
	check_eq "$(post 4 '.body.dbshift | [.status, .failed_step, .error.message] | join(" / ")')" \
		"failed / hook:smoke / hook 'smoke' failed (exit 1)" "$tag: the failure alert carries the step and its error"
	check_eq "$(echo "$ERR" | grep '^dbshift: error')" "dbshift: error: hook 'smoke' failed (exit 1)" "$tag: and so does the error"

	# --from: the steps before it must have succeeded in that release
	dbs --database "$url" release --from verify
	check_rc 3 "$tag: --from past a step that failed is refused"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: --from verify: step hook:smoke failed in release $failed" "$tag: naming the step"
	sed -i '/^env = FAIL=1$/d' dbshift.conf
	dbs --database "$url" release --from hook:smoke
	check_rc 0 "$tag: --from resumes the release"
	id=$(last_run "$url")
	check_eq "$(jq -c '[.steps[] | .status]' "reports/$id.json")" \
		'["skipped","skipped","skipped","skipped","succeeded","succeeded","succeeded"]' "$tag: skipping what succeeded"
	check_eq "$(jq -r '.steps[0].reason + " / " + .resumed_from.run_id' "reports/$id.json")" \
		"succeeded in release $failed / $failed" "$tag: and saying where it succeeded"
	dbs --database "$url" release --rollback --from verify
	check_rc 3 "$tag: --from resumes only the same runbook"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: --from verify: the last release, $id, ran the release runbook" "$tag: saying which ran"

	# a non-critical step that fails: recorded, the release goes on
	printf '\n[release "soft"]\nsteps = hook:smoke health\nnon_critical = health\nhealth_timeout = 1s\n[env "soft"]\n' >> dbshift.conf
	echo down > "$WORK/recv/health"
	dbs --database "$url" --env soft release
	check_rc 0 "$tag: a failing non-critical step does not fail the release"
	id=$(last_run "$url")
	check_eq "$(jq -c '[.summary.success_rate, .steps[1].status, .steps[1].result.targets[0].status]' "reports/$id.json")" \
		'[50,"failed","down"]' "$tag: its success rate is below 100%"
	check_eq "$(echo "$ERR" | grep warning)" "dbshift: warning: step health failed (not critical, the release goes on): health: 1 target still down after 1000 ms" \
		"$tag: it is a warning"
	check_eq "$(jq -r '.warnings[0]' "reports/$id.json")" "step health failed (not critical, the release goes on): health: 1 target still down after 1000 ms" \
		"$tag: recorded in the report"

	# health retries until the target answers
	echo "down 2" > "$WORK/recv/health"
	dbs --database "$url" --env retry release
	check_rc 0 "$tag: health retries until the target is up"
	id=$(last_run "$url")
	check_eq "$(jq -c '.steps[0].result.targets[0] | [.status, .attempts]' "reports/$id.json")" '["up",3]' "$tag: after two failed probes"

	# a hook step past its timeout is killed, with its children
	printf '\n[release "slow"]\nsteps = hook:slow verify\n[env "slow"]\n[hook "slow"]\nrun = sh -c "sleep 60 & echo $! > child.pid; wait"\ntimeout = 300ms\n' >> dbshift.conf
	rm -f child.pid
	dbs --database "$url" --env slow release
	check_rc 1 "$tag: a hook step past its timeout fails the release"
	check_eq "$(echo "$ERR" | grep '^dbshift: error')" "dbshift: error: hook 'slow' ran past its timeout of 300 ms and was killed, with its process group" "$tag: and says so"
	check_eq "$(gone "$(cat child.pid)")" "gone" "$tag: its child was killed too"

	# a missing hook or program: exit 2 before anything runs
	before=$(snapshot "$url")
	local nposts; nposts=$(posts)
	printf '\n[release "missing"]\nsteps = migrate hook:gone\n[env "missing"]\n[hook "gone"]\nrun = ./gone.sh\n' >> dbshift.conf
	dbs --database "$url" --env missing release
	check_rc 2 "$tag: a hook whose program is missing is an input error"
	check_eq "$ERR" "dbshift: error: hook 'gone' cannot run: no program './gone.sh'
HINT: fix run = ... in [hook \"gone\"] (a path, or a program on PATH, made executable); nothing was run" "$tag: naming the hook"
	check_eq "$(snapshot "$url")" "$before" "$tag: and nothing ran"
	check_eq "$(post $((nposts + 1)) '.body.dbshift | [.command, .status] | join(" ")')" "release failed" "$tag: the refusal is alerted"
	cp dbshift.conf ok.conf
	printf '\n[release "nohook"]\nsteps = migrate hook:nosuch\n' >> dbshift.conf
	local line; line=$(grep -n 'hook:nosuch' dbshift.conf | cut -d: -f1)
	dbs --database "$url" release
	check_rc 2 "$tag: a step naming no hook is a config error"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: dbshift.conf:$line:1: step 'hook:nosuch' names hook 'nosuch', which is not defined" "$tag: at its line"
	cp ok.conf dbshift.conf

	# the rollback runbook: held against max_risk, require_backup, after_rollback
	printf '\n[env "strict"]\nmax_risk = yellow\nrequire_backup = true\n' >> dbshift.conf
	before=$(snapshot "$url")
	local nb; nb=$(ls backups | wc -l)
	rm -f calls
	dbs --database "$url" --env strict release --rollback
	check_rc 3 "$tag: a rollback above max_risk is refused"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: the plan's risk is red, above max_risk yellow of environment strict" "$tag: saying why"
	check_eq "$(snapshot "$url") $(ls backups | wc -l)" "$before $nb" "$tag: and nothing changed"
	local np; np=$(posts)
	dbs --database "$url" --env strict release --rollback --force
	check_rc 0 "$tag: --force runs the rollback runbook"
	check_eq "$(post $((np + 2)) '.body.dbshift | [.command, .status, .runbook, .forced] | map(tostring) | join(" ")')" \
		"release succeeded rollback true" "$tag: its alert says it rolled back, and was forced"
	check_contains "$(post $((np + 2)) .body.text)" "dbshift release succeeded (runbook rollback: the database was rolled back) (forced: --force passed the risk gate and failed steps)" \
		"$tag: and so does its text"
	id=$(last_run "$url")
	check_eq "$(jq -c '[.runbook, [.steps[] | [.step, .status]]]' "reports/$id.json")" \
		'["rollback",[["rollback","succeeded"],["verify","succeeded"],["health","succeeded"]]]' "$tag: its steps"
	check_eq "$(table_exists "$url" more) $(ls backups | wc -l)" "0 $((nb + 1))" "$tag: undone, after a verified backup (require_backup)"
	check_eq "$(cat calls)" "after_rollback" "$tag: the after_rollback hook ran"

	# assess holds the plan against max_risk
	printf -- '-- migrate:up\nDROP TABLE items;\n-- migrate:down\nSELECT 1;\n' > migrations/4_drop.sql
	printf '[dbshift]\nmax_risk = green\n[release]\nsteps = assess\n' > assess.conf
	before=$(snapshot "$url")
	dbs --config assess.conf --database "$url" release
	check_rc 3 "$tag: assess above max_risk fails the release"
	check_eq "$(echo "$ERR" | grep -A1 '^dbshift: error')" "dbshift: error: assess: the risk is red, above max_risk green
HINT: make the migrations safer, or, reviewed, run with --force" "$tag: saying why and what to do"
	check_eq "$(table_exists "$url" items)" "1" "$tag: and nothing was dropped"
	rm migrations/4_drop.sql

	# the receiver down: the release succeeds, with the warning recorded
	receiver_stop
	dbs --database "$url" --env soft release
	check_rc 0 "$tag: a receiver that is down does not fail a release"
	id=$(last_run "$url")
	check_contains "$(jq -r '.warnings | join("\n")' "reports/$id.json")" "notification of release started to http://127.0.0.1:$RECV_PORT failed after 3 attempts: " "$tag: the failed alert is a warning in the report"
	cd "$WORK" || return
}

# release_config_errors URL: what [release] cannot say is an input error at
# its line, before anything runs; so is a step that cannot run.
release_config_errors() {
	local conf
	for conf in '[release]\nsteps = doctor deploy\n|dbshift: error: bad.conf:2:1: unknown step '"'deploy'"'' \
		'[release]\nsteps = backup migrate backup\n|dbshift: error: bad.conf:2:1: step '"'backup'"' is listed twice' \
		'[release]\nsteps = migrate rollback\n|dbshift: error: bad.conf:2:1: step '"'rollback'"' cannot be in steps' \
		'[release "x"]\nrollback_steps = backup verify\n|dbshift: error: bad.conf:2:1: rollback_steps has no '"'rollback'"' step' \
		'[release]\nsteps = migrate\nnon_critical = verify\n|dbshift: error: bad.conf:3:1: non_critical names '"'verify'"', which is not a step' \
		'[release]\nsteps = migrate\nmax_risk = red\n|dbshift: error: bad.conf:3:1: unknown key '"'max_risk'"' in [release]'; do
		printf "${conf%%|*}" > bad.conf
		dbs --config bad.conf --database "$1" release
		check_rc 2 "$tag: bad [release] exits 2 (${conf%%|*})"
		check_eq "$(echo "$ERR" | head -n 1)" "${conf#*|}" "$tag: naming the line and the step"
	done
	printf '[release]\nsteps = health\n' > bad.conf
	dbs --config bad.conf --database "$1" release
	check_rc 2 "$tag: a health step with nothing to check exits 2"
	check_eq "$ERR" "dbshift: error: step health has nothing to check
HINT: set check_http (URLs) or check_tcp (host:port) in dbshift.conf" "$tag: saying what to set"
	printf '[release]\nsteps = data\ndata_files = nosuch.sql\n' > bad.conf
	dbs --config bad.conf --database "$1" release
	check_rc 2 "$tag: a data file that is not there exits 2"
	check_eq "$ERR" "dbshift: error: cannot read data migration 'nosuch.sql': No such file or directory
HINT: check data_files in [release] (paths from where dbshift runs)" "$tag: naming it and the setting"
	check_eq "$(table_exists "$1" dbshift_runs)" "0" "$tag: and nothing was run"
	rm bad.conf
}
