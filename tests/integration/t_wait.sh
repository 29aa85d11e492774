# t_wait.sh - dbshift wait: at once when the database is up; a database
# that comes up later (a port that refuses connections until told, then
# forwards to the test server) is waited for; one that never comes up
# fails after --timeout with the last error.

t_wait() {
	project wait
	local url; url=$(pg_newdb waitdb)
	local tag="postgres wait"
	dbs --database "$url" wait
	check_rc 0 "$tag: a database that is up"
	check_contains "$OUT" "the database accepts connections" "$tag: says so"

	rm -f go port
	/usr/bin/python3 "$HERE/late_port.py" "$PGPORT_TEST" "$PWD/go" "$PWD/port" &
	local fwd=$! i=0
	while [ ! -s port ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	local late="postgres://postgres:$PG_PASSWORD@127.0.0.1:$(cat port)/waitdb"
	"$DBSHIFT" -v --database "$late" wait --timeout 60s > wait.out 2> wait.err &
	local waiter=$!
	# once it has been refused at least once, the database "comes up"
	i=0
	while ! grep -qs "wait: try 1: cannot connect" wait.err && [ $i -lt 600 ]; do
		sleep 0.1; i=$((i + 1))
	done
	touch go
	wait "$waiter"
	check_eq "$?" "0" "$tag: a database that comes up later is waited for"
	check_contains "$(cat wait.out)" "the database accepts connections (waited" "$tag: and it says how long"
	kill "$fwd" 2>/dev/null
	wait "$fwd" 2>/dev/null

	dbs --database "postgres://postgres@127.0.0.1:1/none" wait --timeout 1s
	check_rc 1 "$tag: a database that never comes up"
	check_contains "$ERR" "the database did not accept a connection in 1000 ms" "$tag: fails after --timeout"
	check_contains "$ERR" "Connection refused" "$tag: with the last error"
	cd "$WORK" || return
}
