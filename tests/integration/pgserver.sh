# pgserver.sh - start and stop a throwaway PostgreSQL server for the tests.
#
# Source it, then: pg_start (sets PGPORT_TEST, PG_URL, PG_ADMIN_URL) and
# pg_stop.  The cluster lives in a temporary directory owned by a non-root
# user (initdb refuses root), listens on 127.0.0.1 only, and requires a
# password over TCP so that wrong-password handling is tested for real.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_PASSWORD=${PG_PASSWORD:-s3cret-pw}

pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	PG_DIR=$(mktemp -d /tmp/dbshift-pg.XXXXXX)
	chmod 755 "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
	printf '%s\n' "$PG_PASSWORD" > "$PG_DIR/pw"
	[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR/pw"
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/pw" \
		--auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 || {
		cat "$PG_DIR/initdb.log"; return 1; }
	pg_cluster_start "$PG_DIR/data" "$PG_DIR/server.log" "${PGPORT_TEST:-}" \
		"-c fsync=${PG_FSYNC:-off} -c max_connections=100" || return 1
	PGPORT_TEST=$PG_STARTED_PORT
	PG_ADMIN_URL="postgres://postgres:$PG_PASSWORD@127.0.0.1:$PGPORT_TEST/postgres"
	export PG_DIR PGPORT_TEST PG_ADMIN_URL
}

# A fresh database for one test: prints its URL.
pg_newdb() {
	local name=$1
	PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
	echo "postgres://postgres:$PG_PASSWORD@127.0.0.1:$PGPORT_TEST/$name"
}

# pg_cluster_start DATADIR LOG PORT OPTIONS: start a cluster on 127.0.0.1
# with its socket in PG_DIR; PG_STARTED_PORT once it runs.  A random port
# may be taken by another server of this machine: then another one, a few
# times (unless PORT chose one).
pg_cluster_start() {
	local tries=5
	while :; do
		PG_STARTED_PORT=${3:-$(( 20000 + RANDOM % 20000 ))}
		pg_as "$PG_BIN/pg_ctl" -D "$1" -l "$2" -w -t 60 \
			-o "-p $PG_STARTED_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 $4" \
			start >/dev/null && return 0
		tries=$((tries - 1))
		if [ -n "$3" ] || [ "$tries" = 0 ]; then
			cat "$2"
			return 1
		fi
	done
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$PG_DIR"
	PG_DIR=
}

# s3_start [BUCKET...]: an S3 API server (s3rver, from npm:
# scripts/install-deps.sh) on a free loopback port with the bucket "bkt"
# and those; S3_ENDPOINT once it answers.
# Its one key pair is S3RVER / S3RVER.
s3_start() {
	local bin; bin=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.node/node_modules/.bin" 2>/dev/null && pwd)/s3rver
	[ -x "$bin" ] || { echo "s3rver is not installed: run scripts/install-deps.sh"; return 1; }
	rm -rf "$WORK/s3data"
	mkdir -p "$WORK/s3data"
	local try b more=()
	for b in "$@"; do more+=(--configure-bucket "$b"); done
	for try in 1 2 3 4 5; do
		S3_PORT=$(( 41000 + RANDOM % 20000 ))
		"$bin" --directory "$WORK/s3data" --address 127.0.0.1 --port "$S3_PORT" --silent \
			--configure-bucket bkt "${more[@]}" >"$WORK/s3rver.log" 2>&1 &
		S3_PID=$!
		local i=0
		while [ $i -lt 100 ]; do
			curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break
			kill -0 "$S3_PID" 2>/dev/null || break
			sleep 0.1; i=$((i + 1))
		done
		if curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"; then
			S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
			export S3_ENDPOINT S3_PID
			return 0
		fi
		kill "$S3_PID" 2>/dev/null; wait "$S3_PID" 2>/dev/null
	done
	cat "$WORK/s3rver.log"
	return 1
}

s3_stop() {
	# (wait gives the status of the kill, 143: not this function's failure)
	[ -n "${S3_PID:-}" ] && { kill "$S3_PID" 2>/dev/null; wait "$S3_PID" 2>/dev/null || true; }
	S3_PID=
}

# dovecot_start: Dovecot (Debian dovecot-imapd) run as root with its own
# config in $WORK/dovecot: IMAP without TLS on a free loopback port, a
# passwd-file with alice (alicepw) and bob (bobpw), maildirs under
# $WORK/dovecot/mail/USER/Maildir owned by nobody; IMAP_PORT once it
# answers.
dovecot_start() {
	command -v dovecot >/dev/null || { echo "dovecot is not installed: run scripts/install-deps.sh"; return 1; }
	local d=$WORK/dovecot try
	rm -rf "$d"
	mkdir -p "$d/run" "$d/mail/alice/Maildir" "$d/mail/bob/Maildir"
	printf 'alice:{PLAIN}alicepw\nbob:{PLAIN}bobpw\n' > "$d/passwd"
	chown -R nobody:nogroup "$d/mail"
	for try in 1 2 3 4 5; do
		IMAP_PORT=$(( 41000 + RANDOM % 20000 ))
		cat > "$d/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $d/run
state_dir = $d/run/state
log_path = $d/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/mail/%u
}
mail_location = maildir:$d/mail/%u/Maildir
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service stats {
  inet_listener http {
    port = 0
  }
}
default_login_user = dovenull
default_internal_user = dovecot
CONF
		dovecot -F -c "$d/dovecot.conf" >"$d/out" 2>&1 &
		IMAP_PID=$!
		if until_ok 10 curl -s -o /dev/null "imap://127.0.0.1:$IMAP_PORT/" -u bob:bobpw; then
			export IMAP_PORT IMAP_PID
			return 0
		fi
		kill "$IMAP_PID" 2>/dev/null; wait "$IMAP_PID" 2>/dev/null
	done
	cat "$d/out" "$d/log" 2>/dev/null
	return 1
}

dovecot_stop() {
	[ -n "${IMAP_PID:-}" ] && { kill "$IMAP_PID" 2>/dev/null; wait "$IMAP_PID" 2>/dev/null || true; }
	IMAP_PID=
}
