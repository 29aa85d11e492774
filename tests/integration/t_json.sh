# t_json.sh - every command's --json is one document that docs/json.schema.json
# accepts (checked with python3-jsonschema by json_check.py): "command",
# "ok", "exit_code", RFC 3339 times, arrays for lists, one summary shape;
# and the check itself rejects what the schema forbids.

json_valid() {  # TAG: $OUT against the schema
	local res
	res=$(printf '%s' "$OUT" | /usr/bin/python3 "$HERE/json_check.py" "$HERE/../../docs/json.schema.json")
	check_eq "$res" "valid" "$1"
}

# json_cmd RC TAG ARGS...: run dbshift --json ARGS, expect exit RC and a
# valid document whose ok and exit_code say the same
json_cmd() {
	local rc=$1 tag=$2
	shift 2
	dbs --json "$@"
	check_rc "$rc" "$tag: exit $rc"
	json_valid "$tag: valid"
	check_eq "$(printf '%s' "$OUT" | jq -c '[.ok, .exit_code]')" "[$([ "$rc" = 0 ] && echo true || echo false),$rc]" \
		"$tag: ok and exit_code"
}

t_json() {
	project json
	local url; url=$(newdb json) tag="$DRIVER json"
	printf -- '-- migrate:up\nCREATE TABLE t (id bigint PRIMARY KEY, v text);\n-- migrate:down\nDROP TABLE t;\n' > migrations/001_t.sql
	printf -- '-- migrate:up\nCREATE INDEX t_v ON t (v);\n-- migrate:down\nDROP INDEX t_v;\n' > migrations/002_i.sql
	json_cmd 0 "$tag status" --database "$url" status
	check_eq "$(printf '%s' "$OUT" | jq -c '[.command, .summary.total, .summary.pending]')" '["status",2,2]' "$tag status: counts"
	json_cmd 0 "$tag plan" --database "$url" plan
	check_eq "$(printf '%s' "$OUT" | jq -c '.steps[0].statements[0].tables')" '["t"]' "$tag plan: tables is an array"
	json_cmd 0 "$tag migrate --dry-run" --database "$url" migrate --dry-run
	json_cmd 0 "$tag migrate" --database "$url" migrate
	check_contains "$(printf '%s' "$OUT" | jq -r .started_at)" "T" "$tag migrate: started_at in RFC 3339"
	json_cmd 0 "$tag status applied" --database "$url" status
	check_eq "$(printf '%s' "$OUT" | jq -r '.migrations[0].applied_at | test("^[0-9-]{10}T[0-9:]{8}(\\.[0-9]+)?Z$")')" "true" \
		"$tag status: applied_at in RFC 3339, UTC"
	json_cmd 0 "$tag status --runs" --database "$url" status --runs
	json_cmd 0 "$tag rollback --dry-run" --database "$url" rollback --dry-run
	json_cmd 0 "$tag rollback" --database "$url" rollback
	json_cmd 0 "$tag redo" --database "$url" redo
	json_cmd 0 "$tag migrate the rest" --database "$url" migrate
	json_cmd 0 "$tag lint" --database "$url" lint migrations/001_t.sql
	check_eq "$(printf '%s' "$OUT" | jq -c '[.summary.total, .risk.band]')" '[1,"low"]' "$tag lint: summary and risk"
	json_cmd 0 "$tag doctor" --database "$url" doctor
	json_cmd 0 "$tag verify" --database "$url" verify
	json_cmd 0 "$tag schema dump" --database "$url" schema dump
	json_cmd 0 "$tag backup" --database "$url" backup
	json_cmd 0 "$tag backups list" --database "$url" backups list
	json_cmd 0 "$tag backups verify" --database "$url" backups verify
	json_cmd 0 "$tag backups prune" --database "$url" backups prune --keep 5 --dry-run
	local id; id=$(printf '%s' "$OUT" | jq -r '.kept[0].id // empty')
	[ -n "$id" ] || id=$("$DBSHIFT" --database "$url" --json backups list | jq -r '.backups[0].id')
	json_cmd 0 "$tag restore" --database "$url" restore "$id" --yes
	json_cmd 2 "$tag notify --test with no notify_url" --database "$url" notify --test
	printf -- '-- dbshift:table t\n-- dbshift:key id\nUPDATE t SET v = v WHERE id BETWEEN :lo AND :hi;\n' > touch.sql
	json_cmd 0 "$tag data run --dry-run" --database "$url" data run touch.sql --dry-run
	json_cmd 0 "$tag data run" --database "$url" data run touch.sql
	json_cmd 2 "$tag release with no [release] steps" --database "$url" release --dry-run
	json_cmd 0 "$tag repair" --database "$url" repair
	json_cmd 0 "$tag settings" settings
	json_cmd 0 "$tag version" version
	json_cmd 0 "$tag --version" --version
	json_cmd 0 "$tag wait" --database "$url" wait --timeout 5s
	json_cmd 0 "$tag new" new add_thing
	json_cmd 0 "$tag baseline" --database "$(newdb json_base)" baseline 001
	# failures: the error is in the one document
	json_cmd 2 "$tag unknown command" frobnicate
	check_eq "$(printf '%s' "$OUT" | jq -r '.error.code')" "input" "$tag unknown command: error.code"
	json_cmd 2 "$tag bad option value" --database "$url" migrate --lock-timeout 2x
	printf -- '-- migrate:up\nALTER TABLE t DROP COLUMN v;\n-- migrate:down\nALTER TABLE t ADD COLUMN v text;\n' > migrations/008_drop.sql
	json_cmd 1 "$tag lint with red findings" --database "$url" lint
	printf -- '-- migrate:up\nCREATE TABLE (;\n-- migrate:down\n' > migrations/009_bad.sql
	json_cmd 2 "$tag plan of a broken script" --database "$url" plan
	check_eq "$(printf '%s' "$OUT" | jq -r '"\(.error.file):\(.error.line)"')" "migrations/009_bad.sql:2" \
		"$tag broken script: the error names file and line"
	rm migrations/009_bad.sql migrations/008_drop.sql
	# the check can fail: an old-style time, a joined list, a missing ok
	OUT='{"command":"x","ok":true,"exit_code":0,"started_at":"2026-11-22 06:26:38+00"}'
	check_contains "$(printf '%s' "$OUT" | /usr/bin/python3 "$HERE/json_check.py" "$HERE/../../docs/json.schema.json")" \
		"/started_at:" "$tag: the schema refuses a time that is not RFC 3339"
	OUT='{"command":"assess","ok":true,"exit_code":0,"steps":[],"estimates":[],"risk":{"worst":"green","score":0,"band":"low"},"tables":[{"table":"t","indexes":"a, b"}]}'
	check_contains "$(printf '%s' "$OUT" | /usr/bin/python3 "$HERE/json_check.py" "$HERE/../../docs/json.schema.json")" \
		"/tables/0/indexes:" "$tag: the schema refuses a joined list"
	OUT='{"command":"x","exit_code":1,"summary":{"count":1}}'
	res=$(printf '%s' "$OUT" | /usr/bin/python3 "$HERE/json_check.py" "$HERE/../../docs/json.schema.json")
	check_contains "$res" "'ok' is a required property" "$tag: the schema wants ok"
	check_contains "$res" "'total' is a required property" "$tag: and a summary's total"
	cd "$WORK" || return
}

# t_json_pg: assess, which reads live facts (PostgreSQL)
t_json_pg() {
	project json_pg
	local url; url=$(newdb json_pg) tag="$DRIVER json"
	printf -- '-- migrate:up\nCREATE TABLE t (id bigint PRIMARY KEY, v text);\n-- migrate:down\nDROP TABLE t;\n' > migrations/001_t.sql
	dbs --database "$url" migrate
	printf -- '-- migrate:up\nALTER TABLE t ADD COLUMN w text;\n-- migrate:down\nALTER TABLE t DROP COLUMN w;\n' > migrations/002_w.sql
	json_cmd 0 "$tag assess" --database "$url" assess
	check_eq "$(printf '%s' "$OUT" | jq -c '.tables[0].indexes')" '["t_pkey"]' "$tag assess: indexes is an array"
	cd "$WORK" || return
}
