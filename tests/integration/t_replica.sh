# t_replica.sh - replica lag measured on a real PostgreSQL streaming
# replica (pg_basebackup -R of the test's server, on 127.0.0.1), its
# replay paused and resumed by the test: a data run waits while it lags,
# and doctor says so.

# replica_start: a streaming replica of the test server on its own port;
# REPLICA_PORT once it accepts connections.
replica_start() {
	REPLICA_DIR=$PG_DIR/replica
	pg_as env PGPASSWORD="$PG_PASSWORD" "$PG_BIN/pg_basebackup" -D "$REPLICA_DIR" -R \
		-h 127.0.0.1 -p "$PGPORT_TEST" -U postgres -X stream -c fast >"$PG_DIR/basebackup.log" 2>&1 || {
		cat "$PG_DIR/basebackup.log"; return 1; }
	pg_cluster_start "$REPLICA_DIR" "$PG_DIR/replica.log" "" "-c hot_standby=on -c wal_receiver_status_interval=1s" || return 1
	REPLICA_PORT=$PG_STARTED_PORT
}

replica_stop() {
	[ -n "${REPLICA_DIR:-}" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -m immediate stop >/dev/null 2>&1
	rm -rf "$REPLICA_DIR"
	REPLICA_DIR=
}

# lag_status URL WANT: doctor's replication-lag check on URL says WANT.
lag_status() {
	dbs --database "$1" --json doctor
	[ "$(echo "$OUT" | jq -r '.checks[] | select(.check == "replication-lag") | .status')" = "$2" ]
}

# lag_holds_data TAG URL REPLICA_URL: with the replica's replay paused, a
# data run (--max-lag 1s) on URL says it waits and changes nothing; once
# replay resumes it changes every row, its output without a password.
lag_holds_data() {
	local tag=$1 pid
	"$DBSHIFT" --database "$2" data run bump.sql --batch-size 1000 --max-lag 1000 >"$WORK/replica.out" 2>&1 &
	pid=$!
	until_ok 60 grep -qs "waiting: replica lag" "$WORK/replica.out" \
		|| not_ok "$tag: the data run says it waits"
	check_eq "$(sql "$2" "SELECT count(*) FROM items WHERE done = 1")" "0" "$tag: nothing changes while the replica lags"
	sql "$3" "SELECT pg_wal_replay_resume()" >/dev/null
	wait "$pid"
	RC=$? OUT=$(cat "$WORK/replica.out") ERR=
	check_rc 0 "$tag: the data run goes on once the replica caught up"
	check_eq "$(sql "$2" "SELECT count(*) FROM items WHERE done = 1")" "20000" "$tag: and changes every row"
	check_lacks "$OUT" "$PG_PASSWORD" "$tag: no password in its output"
}

t_replica_lag() {
	project replica
	local tag="postgres replica" url rurl
	url=$(newdb replica)
	fill_items "$url" 20000
	data_file
	if ! replica_start; then
		not_ok "$tag: start a streaming replica"
		return
	fi
	rurl="postgres://postgres:$PG_PASSWORD@127.0.0.1:$REPLICA_PORT/replica"
	# a transaction it replays (the rows came with the base backup)
	sql "$url" "CREATE TABLE tick (n int); INSERT INTO tick VALUES (0)" >/dev/null
	wait_for "$rurl" "SELECT count(*) FROM tick" 1 \
		|| not_ok "$tag: the replica replays"
	printf '[dbshift]\nreplica_url = %s\ndoctor_max_lag = 1s\n' "$rurl" > dbshift.conf
	# (WAL of the server's own background work may hold it back a moment)
	if until_ok 60 lag_status "$url" pass; then ok "$tag: doctor: a replica that keeps up passes"
	else not_ok "$tag: doctor: a replica that keeps up passes" "$OUT"; fi

	# replay paused, and WAL it has not replayed: it lags more and more
	sql "$rurl" "SELECT pg_wal_replay_pause()" >/dev/null
	sql "$url" "INSERT INTO tick VALUES (1)" >/dev/null
	wait_for "$rurl" "SELECT pg_get_wal_replay_pause_state() = 'paused' AND pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() AND now() - pg_last_xact_replay_timestamp() > interval '1500 ms'" t \
		|| not_ok "$tag: the paused replica lags"
	dbs --database "$url" --json doctor
	check_eq "$(echo "$OUT" | jq -r '.checks[] | select(.check == "replication-lag") | .status')" "warn" "$tag: doctor warns of the paused replica's lag"
	check_contains "$(echo "$OUT" | jq -r '.checks[] | select(.check == "replication-lag") | .message')" "replica lag " "$tag: and says how much"
	check_lacks "$OUT" "$PG_PASSWORD" "$tag: without the replica's password"

	lag_holds_data "$tag" "$url" "$rurl"

	# without replica_url: the primary's pg_stat_replication, whose
	# replay_lag grows while the standby's apply is stuck
	: > dbshift.conf
	sql "$url" "UPDATE items SET done = NULL; DELETE FROM dbshift_data" >/dev/null  # (its checkpoint)
	wait_for "$rurl" "SELECT count(*) FROM items WHERE done IS NULL" 20000 \
		|| not_ok "$tag: the replica has the reset rows"
	sql "$rurl" "SELECT pg_wal_replay_pause()" >/dev/null
	sql "$url" "INSERT INTO tick VALUES (2)" >/dev/null
	wait_for "$url" "SELECT count(*) FROM pg_stat_replication WHERE replay_lag > interval '1500 ms'" 1 \
		|| not_ok "$tag: the primary sees its standby lag"
	lag_holds_data "$tag: pg_stat_replication" "$url" "$rurl"
	replica_stop
	cd "$WORK" || return
}
