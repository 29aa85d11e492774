# t_adopt.sh - switching in from another tool unchanged: a database that
# dbmate, golang-migrate, goose, Flyway, Diesel or sqlx migrated (its history
# table made here by SQL, as the tool makes it) gets a hint from status,
# a refusal from migrate, and 'dbshift adopt' (a dry run, then --yes) takes
# its history over: dirty and failed rows become failed ones, Flyway's
# and sqlx's checksums are kept as theirs.

# adopt_files TOOL: three migrations t1..t3 in TOOL's layout
adopt_files() {
	local i
	for i in 1 2 3; do
		case "$1" in
		dbmate) printf -- '-- migrate:up\nCREATE TABLE t%s (id integer PRIMARY KEY);\n-- migrate:down\nDROP TABLE t%s;\n' "$i" "$i" > "migrations/00${i}_t$i.sql" ;;
		golang-migrate)
			printf 'CREATE TABLE t%s (id integer PRIMARY KEY);\n' "$i" > "migrations/${i}_t$i.up.sql"
			printf 'DROP TABLE t%s;\n' "$i" > "migrations/${i}_t$i.down.sql" ;;
		goose) printf -- '-- +goose Up\nCREATE TABLE t%s (id integer PRIMARY KEY);\n-- +goose Down\nDROP TABLE t%s;\n' "$i" "$i" > "migrations/0000${i}_t$i.sql" ;;
		flyway)
			printf 'CREATE TABLE t%s (id integer PRIMARY KEY);\r\n-- table %s\r\n' "$i" "$i" > "migrations/V${i}__t$i.sql"
			printf 'DROP TABLE t%s;\n' "$i" > "migrations/U${i}__t$i.sql" ;;
		sqlx) printf 'CREATE TABLE t%s (id integer PRIMARY KEY);\n' "$i" > "migrations/2024040100000${i}_t$i.sql" ;;
		drizzle)  # drizzle-kit's files, with its journal
			mkdir -p migrations/meta
			printf 'CREATE TABLE t%s (id integer PRIMARY KEY);\n' "$i" > "migrations/000${i}_t$i.sql"
			printf '{"version":"7","dialect":"%s","entries":[]}\n' "$([ "$DRIVER" = sqlite ] && echo sqlite || echo postgresql)" > migrations/meta/_journal.json ;;
		prisma)
			mkdir -p "migrations/2024050100000${i}_t$i"
			printf -- '-- CreateTable\nCREATE TABLE t%s (id integer PRIMARY KEY);\n' "$i" > "migrations/2024050100000${i}_t$i/migration.sql"
			printf 'provider = "%s"\n' "$([ "$DRIVER" = sqlite ] && echo sqlite || echo postgresql)" > migrations/migration_lock.toml ;;
		diesel)
			mkdir -p "migrations/2024-01-01-00000${i}_t$i"
			printf 'CREATE TABLE t%s (id integer PRIMARY KEY);\n' "$i" > "migrations/2024-01-01-00000${i}_t$i/up.sql"
			printf 'DROP TABLE t%s;\n' "$i" > "migrations/2024-01-01-00000${i}_t$i/down.sql" ;;
		esac
	done
}

# Flyway's checksum of a file: CRC-32 over its lines without their ends.
flyway_crc() {
	/usr/bin/python3 -c 'import sys, zlib
c = 0
for line in open(sys.argv[1], "rb").read().decode().splitlines():
    c = zlib.crc32(line.encode(), c)
print(c - (1 << 32) if c >= 1 << 31 else c)' "$1"
}

# adopt_history TOOL URL: the tool's table, as it leaves it
adopt_history() {
	local pg=1 bool_t=true bool_f=false
	case "$2" in sqlite:*) pg=0; bool_t=1; bool_f=0 ;; esac
	case "$1" in
	dbmate) sql "$2" "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);
		INSERT INTO schema_migrations VALUES ('001'), ('002')" ;;
	golang-migrate) sql "$2" "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
		INSERT INTO schema_migrations VALUES (2, $bool_t)" ;;
	goose)
		if [ $pg = 1 ]; then
			sql "$2" "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp DEFAULT now())"
		else
			sql "$2" "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))"
		fi
		# 1 and 2 applied, 2 rolled back, 2 applied again, 3 applied and rolled back
		sql "$2" "INSERT INTO goose_db_version (version_id, is_applied, tstamp) VALUES
			(0, $bool_t, '2024-01-01 10:00:00'), (1, $bool_t, '2024-01-02 10:00:00'),
			(2, $bool_t, '2024-01-03 10:00:00'), (2, $bool_f, '2024-01-04 10:00:00'),
			(2, $bool_t, '2024-01-05 10:00:00'), (3, $bool_t, '2024-01-06 10:00:00'),
			(3, $bool_f, '2024-01-07 10:00:00')" ;;
	flyway) sql "$2" "CREATE TABLE flyway_schema_history (installed_rank integer NOT NULL PRIMARY KEY,
		version varchar(50), description varchar(200) NOT NULL, type varchar(20) NOT NULL,
		script varchar(1000) NOT NULL, checksum integer, installed_by varchar(100) NOT NULL,
		installed_on timestamp NOT NULL, execution_time integer NOT NULL, success boolean NOT NULL);
		INSERT INTO flyway_schema_history VALUES
		(1, '1', 't1', 'SQL', 'V1__t1.sql', $(flyway_crc migrations/V1__t1.sql), 'ann', '2024-02-01 09:00:00', 42, $bool_t),
		(2, '2', 't2', 'SQL', 'V2__t2.sql', $(flyway_crc migrations/V2__t2.sql), 'bob', '2024-02-02 09:00:00', 7, $bool_f)" ;;
	sqlx)  # version 2 left partly applied (success false); checksums: SHA-384 of the file
		local sum1 sum2 ts=TIMESTAMPTZ
		sum1=$(sha384sum migrations/20240401000001_t1.sql | cut -d' ' -f1)
		sum2=$(sha384sum migrations/20240401000002_t2.sql | cut -d' ' -f1)
		if [ $pg = 1 ]; then
			sum1="decode('$sum1', 'hex')" sum2="decode('$sum2', 'hex')"
		else
			sum1="X'$sum1'" sum2="X'$sum2'" ts=TIMESTAMP
		fi
		sql "$2" "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on $ts NOT NULL, success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);
		INSERT INTO _sqlx_migrations VALUES (20240401000001, 't1', '2024-04-01 08:00:00', $bool_t, $sum1, 12000000),
			(20240401000002, 't2', '2024-04-02 08:00:00', $bool_f, $sum2, 5000000)" ;;
	prisma)  # 1 applied (recorded on Windows: its checksum of the file with \r\n),
		# 2 started and never finished (failed), 3 applied then rolled back
		local sum1 sum2 t1 t2 t3 t4
		sum1=$(sed 's/$/\r/' migrations/20240501000001_t1/migration.sql | sha256sum | cut -d' ' -f1)
		sum2=$(sha256sum migrations/20240501000002_t2/migration.sql | cut -d' ' -f1)
		if [ $pg = 1 ]; then
			sql "$2" 'CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)'
			t1="'2024-05-01 08:00:00+00'" t2="'2024-05-01 08:00:01+00'" t3="'2024-05-02 08:00:00+00'" t4="'2024-05-02 09:00:00+00'"
		else  # Prisma's engine keeps a time there as milliseconds since 1970
			sql "$2" 'CREATE TABLE "_prisma_migrations" ("id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME, "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME, "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)'
			t1=1714550400000 t2=1714550401000 t3=1714636800000 t4=1714640400000
		fi
		sql "$2" "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES
			('a1', '$sum1', $t2, '20240501000001_t1', NULL, NULL, $t1, 1),
			('a3', '$sum2', $t4, '20240501000003_t3', NULL, $t4, $t3, 1),
			('a2', '$sum2', NULL, '20240501000002_t2', 'failed', NULL, $t3, 0)" ;;
	drizzle)  # 1 and 2: the SHA-256 of each file, the journal's time
		local h1 h2 table=__drizzle_migrations
		h1=$(sha256sum migrations/0001_t1.sql | cut -d' ' -f1)
		h2=$(sha256sum migrations/0002_t2.sql | cut -d' ' -f1)
		if [ $pg = 1 ]; then
			table=drizzle.__drizzle_migrations
			sql "$2" "CREATE SCHEMA drizzle; CREATE TABLE $table (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)"
		else
			sql "$2" "CREATE TABLE $table (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)"
		fi
		sql "$2" "INSERT INTO $table (hash, created_at) VALUES ('$h1', 1714550400000), ('$h2', 1714636800000)" ;;
	diesel) sql "$2" "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY NOT NULL, run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);
		INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('20240101000001', '2024-03-01 08:00:00'), ('20240101000002', '2024-03-02 08:00:00')" ;;
	esac
}

# the table the tool migrated for each version it applied
adopt_tables() {
	local v
	for v in $2; do sql "$1" "CREATE TABLE t$v (id integer PRIMARY KEY)"; done
}

# a migration's name in JSON: Prisma's is all in its version (20240501000001_t1)
LABEL='def nm: if .name == "" then (.version | sub("^[0-9]+_"; "")) else .name end; '

t_adopt() {
	local tool url tag table before states
	for tool in dbmate golang-migrate goose flyway diesel sqlx prisma drizzle; do
		project "adopt_$tool"
		url=$(newdb "adopt_${tool//-/_}") tag="$DRIVER adopt $tool"
		adopt_files "$tool"
		adopt_history "$tool" "$url"
		case $tool in
		goose|golang-migrate) adopt_tables "$url" "1 2" ;;
		flyway|sqlx|prisma) adopt_tables "$url" "1" ;;
		*) adopt_tables "$url" "1 2" ;;
		esac
		case $tool in
		golang-migrate|dbmate) table=schema_migrations ;;
		goose) table=goose_db_version ;;
		flyway) table=flyway_schema_history ;;
		diesel) table=__diesel_schema_migrations ;;
		sqlx) table=_sqlx_migrations ;;
		prisma) table=_prisma_migrations ;;
		drizzle) table=__drizzle_migrations; [ "$DRIVER" = postgres ] && table=drizzle.__drizzle_migrations ;;
		esac
		before=$(sql "$url" "SELECT count(*) FROM $table")

		dbs --database "$url" status
		check_rc 0 "$tag: status"
		check_contains "$ERR" "this database has $tool's history ($table) and none of dbshift's: 'dbshift adopt' shows what it would take over" \
			"$tag: status says whose history is there"
		dbs --database "$url" migrate
		check_rc 3 "$tag: migrate refuses to run the migrations again"
		check_contains "$ERR" "'dbshift adopt --yes' records it" "$tag: pointing to adopt"
		check_eq "$(table_exists "$url" t3)" 0 "$tag: nothing ran"

		dbs --database "$url" --json adopt
		check_rc 0 "$tag: adopt (a dry run)"
		json_valid "$tag: the dry run's document"
		states=$(printf '%s' "$OUT" | jq -r "$LABEL"'[.tool, .table, .dry_run, (.migrations[] | "\(nm)=\(.status)")] | join(" ")')
		case $tool in
		golang-migrate) check_eq "$states" "$tool $table true t1=applied t2=failed" "$tag: the dirty version is failed, those before it applied" ;;
		goose) check_eq "$states" "$tool $table true t1=applied t2=applied" "$tag: goose's last row of each version decides" ;;
		flyway|sqlx|prisma) check_eq "$states" "$tool $table true t1=applied t2=failed" "$tag: the failed row is failed" ;;
		*) check_eq "$states" "$tool $table true t1=applied t2=applied" "$tag: what it would record" ;;
		esac
		check_eq "$(table_exists "$url" dbshift_migrations)" 0 "$tag: a dry run records nothing"
		case $tool in
		flyway|sqlx|prisma) check_eq "$(printf '%s' "$OUT" | jq -r '[.migrations[].checksum] | join(" ")')" \
			"$tool $tool" "$tag: the dry run says whose checksums are kept" ;;
		esac

		dbs --database "$url" adopt --yes
		check_rc 0 "$tag: adopt --yes"
		check_contains "$OUT" "adopt: 2 migrations" "$tag: says how many"
		check_eq "$(sql "$url" "SELECT count(*) FROM $table")" "$before" "$tag: the other tool's table is left as it was"
		dbs --database "$url" --json status
		states=$(printf '%s' "$OUT" | jq -r "$LABEL"'[.migrations[] | "\(nm)=\(.state)"] | join(" ")')
		case $tool in
		golang-migrate|flyway|sqlx|prisma) check_eq "$states" "t1=applied t2=failed t3=pending" "$tag: status after adopt" ;;
		*) check_eq "$states" "t1=applied t2=applied t3=pending" "$tag: status after adopt" ;;
		esac
		case $tool in
		flyway)
			check_eq "$(sql "$url" "SELECT checksum, duration_ms, applied_by FROM dbshift_migrations WHERE version = '1'")" \
				"flyway:$(flyway_crc migrations/V1__t1.sql)|42|ann" "$tag: Flyway's checksum, time and user kept"
			printf -- '-- edited\n' >> migrations/V1__t1.sql
			dbs --database "$url" --json status
			check_eq "$(printf '%s' "$OUT" | jq -r '.migrations[0].state')" "drifted" "$tag: an edited file drifts from Flyway's checksum"
			;;
		sqlx)
			check_contains "$(sql "$url" "SELECT applied_at || ' ' || duration_ms FROM dbshift_migrations WHERE version = '20240401000001'")" \
				"2024-04-01" "$tag: the time sqlx recorded is kept"
			check_eq "$(sql "$url" "SELECT duration_ms FROM dbshift_migrations WHERE version = '20240401000001'")" \
				"12" "$tag: and its execution time, nanoseconds as milliseconds"
			check_eq "$(sql "$url" "SELECT checksum FROM dbshift_migrations WHERE version = '20240401000001'")" \
				"sqlx:$(sha384sum migrations/20240401000001_t1.sql | cut -d' ' -f1)" "$tag: sqlx's checksum kept as sqlx's"
			printf -- '-- edited\n' >> migrations/20240401000001_t1.sql
			dbs --database "$url" --json status
			check_eq "$(printf '%s' "$OUT" | jq -r '.migrations[0].state')" "drifted" "$tag: an edited file drifts from sqlx's checksum" ;;
		prisma)
			check_eq "$(sql "$url" "SELECT checksum FROM dbshift_migrations WHERE version = '20240501000001_t1'")" \
				"prisma:$(sed 's/$/\r/' migrations/20240501000001_t1/migration.sql | sha256sum | cut -d' ' -f1)" "$tag: Prisma's checksum kept (of the file with Windows line ends: still applied)"
			dbs --database "$url" --json status
			check_eq "$(printf '%s' "$OUT" | jq -r '.migrations[0].applied_at')" "2024-05-01T08:00:01Z" "$tag: and the time it finished"
			printf -- '-- edited\n' >> migrations/20240501000001_t1/migration.sql
			dbs --database "$url" --json status
			check_eq "$(printf '%s' "$OUT" | jq -r '.migrations[0].state')" "drifted" "$tag: an edited file drifts from Prisma's checksum" ;;
		goose|diesel)
			check_contains "$(sql "$url" "SELECT applied_at FROM dbshift_migrations ORDER BY version LIMIT 1")" "2024-0" \
				"$tag: the time the tool recorded is kept" ;;
		esac
		if [ $tool = dbmate ] || [ $tool = goose ] || [ $tool = diesel ] || [ $tool = drizzle ]; then
			dbs --database "$url" migrate
			check_rc 0 "$tag: migrate runs only what the tool had not"
			check_contains "$OUT" "migrate: 1 migration" "$tag: one migration"
		fi
		dbs --database "$url" adopt
		check_rc 2 "$tag: adopt again is refused"
		check_contains "$ERR" "dbshift's history already has" "$tag: saying why"
		cd "$WORK" || return
	done
	# Drizzle runs what is newer than its newest row: a file edited since
	# Drizzle ran it (its hash found nowhere) is applied all the same when a
	# later one's is found, and the row no file has shows as missing
	project adopt_drizzle_edited
	url=$(newdb adopt_drizzle_edited) tag="$DRIVER adopt drizzle"
	adopt_files drizzle
	adopt_history drizzle "$url"
	adopt_tables "$url" "1 2"
	printf -- '-- a comment added later\n' >> migrations/0001_t1.sql
	dbs --database "$url" --json adopt
	check_eq "$(printf '%s' "$OUT" | jq -r '[.migrations | sort_by(.version)[] | "\(.version)=\(.status):\(.file // "none")"] | join(" ")')" \
		"0001=applied:migrations/0001_t1.sql 0002=applied:migrations/0002_t2.sql 1714550400000=applied:none" \
		"$tag: an edited file before the newest one found is applied; its row, which no file has, is kept under its time"
	cd "$WORK" || return
	project adopt_none
	url=$(newdb adopt_none) tag="$DRIVER adopt"
	adopt_files dbmate
	dbs --database "$url" adopt
	check_rc 2 "$tag: nothing to adopt"
	check_contains "$ERR" "no other tool's history here" "$tag: says so"
	cd "$WORK" || return
}
