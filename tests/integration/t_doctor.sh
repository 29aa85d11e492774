# t_doctor.sh - the pre-migration checklist: each check's status, a fail
# makes it exit 1.

t_doctor() {
	project doctor
	local url; url=$(newdb doctor) tag="$DRIVER doctor"
	good_migration 1_one.sql one
	dbs --database "$url" migrate
	dbs --database "$url" --json doctor
	check_rc 0 "$tag: a healthy database passes (warnings only)"
	local mem="memory=pass"
	[ "$DRIVER" = postgres ] && mem="memory=pass index-memory=pass"
	check_eq "$(echo "$OUT" | jq -r '[.checks[] | "\(.check)=\(.status)"] | join(" ")')" "connect=pass privileges=pass pending=pass disk=pass backup-age=warn $mem long-queries=pass locks=pass idle-in-transaction=pass replication-lag=pass" "$tag: each check, and no backup warns"
	dbs --database "$url" backup
	dbs --database "$url" --json doctor
	check_eq "$(echo "$OUT" | jq -r '.checks[] | select(.check == "backup-age") | .status')" "pass" "$tag: a fresh backup passes"

	printf -- '-- migrate:up\nDELETE FROM one;\n' > migrations/2_purge.sql
	printf '[dbshift]\nmax_risk = yellow\n' > dbshift.conf
	dbs --database "$url" doctor
	check_rc 1 "$tag: a pending migration above max_risk fails doctor"
	check_contains "$OUT" "FAIL  pending              1 pending migration, risk high (worst finding red; max_risk yellow)" "$tag: and says why"
	rm dbshift.conf
	if [ "$DRIVER" = sqlite ]; then
		# extra checks from the config: TCP ports and HTTP health URLs
		local port=$(( 40000 + RANDOM % 20000 ))
		mkdir -p www && echo ok > www/health
		python3 -m http.server "$port" --bind 127.0.0.1 --directory www >/dev/null 2>&1 &
		local web=$! i=0
		while ! curl -s "http://127.0.0.1:$port/health" >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		printf '[dbshift]\ncheck_tcp = 127.0.0.1:%s, 127.0.0.1:1\ncheck_http = http://127.0.0.1:%s/health, http://127.0.0.1:%s/nope\ndoctor_backup_age = 1h\n' "$port" "$port" "$port" > dbshift.conf
		dbs --database "$url" --json doctor
		check_rc 1 "$tag: an unreachable port fails doctor"
		check_eq "$(echo "$OUT" | jq -r '.checks[] | select(.check == "tcp" or .check == "http") | "\(.status) \(.message)"')" "pass 127.0.0.1:$port answers
fail 127.0.0.1:1: Connection refused
pass http://127.0.0.1:$port/health answers
fail http://127.0.0.1:$port/nope: answered HTTP 404" "$tag: TCP and HTTP checks from the config"
		kill $web 2>/dev/null; wait $web 2>/dev/null
		rm dbshift.conf
	fi
	if [ "$DRIVER" = postgres ]; then
		# idle in its transaction until released (it was five seconds of
		# sleep, which a slow start could outlast)
		pg_hold "$url" "SELECT 1"
		dbs --database "$url" doctor
		check_contains "$OUT" "WARN  idle-in-transaction  1 sessions idle in a transaction: pid " "$tag: an idle transaction warns, with its pid"
		pg_release
	fi
	cd "$WORK" || return
}
