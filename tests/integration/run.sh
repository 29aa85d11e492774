#!/usr/bin/env bash
# run.sh [DBSHIFT] - the integration tests: the real dbshift binary against
# SQLite files and a throwaway PostgreSQL server started here.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
DBSHIFT=$(realpath "${1:-$HERE/../../build/dbshift}")
FIXTURES=$HERE/fixtures
WORK=$(mktemp -d /tmp/dbshift-it.XXXXXX)
chmod 755 "$WORK"
export DBSHIFT FIXTURES WORK
unset DATABASE_URL DBSHIFT_ENV PGPASSWORD

. "$HERE/lib.sh"
. "$HERE/pgserver.sh"
for f in "$HERE"/t_*.sh; do . "$f"; done

cleanup() { replica_stop; pg_stop; s3_stop; rm -rf "$WORK"; }
trap cleanup EXIT

# Tests that run on both drivers, then those for one.
BOTH=${BOTH-"t_formats t_apps t_failure t_input_errors t_policy t_no_transaction t_commands t_kill t_risk t_rollback_guard t_notify t_hooks t_release t_phases t_data t_backup t_verify t_prune t_doctor t_trust_input t_trust_data t_trust_backup t_fidelity_popx t_undo t_repair_down t_one_pass t_live t_live_token t_live_release t_backup_crypt t_backup_retention t_backup_s3 t_backup_files t_django t_json t_adopt t_verbose t_first_contact t_audit t_assertions t_promotion t_rehearse t_moves t_moves_input t_fleet t_fleet_input"}
PG_ONLY=${PG_ONLY-"t_wait t_pg_specific t_concurrent t_lock_holder t_password t_assess t_lock_retry t_data_lag t_backup_password t_trust_urls t_fidelity_diesel t_fidelity_dbmate t_lint_volatility t_lint_catalog t_live_pg t_json_pg t_verbose_lock t_doctor_memory t_fleet_schemas t_fleet_stop t_fleet_stop_release t_replica_lag t_pg_prepared"}
SQLITE_ONLY=${SQLITE_ONLY-"t_fleet_shard t_moves_bucket t_moves_mail t_moves_formats t_readme t_units t_color t_help t_install t_ci t_new_layouts t_backup_large t_settings t_sqlite_lock_holder t_sqlite_preflight t_sqlite_preflight_many t_trust_env t_trust_sqlite_busy"}

if ! pg_start; then
	not_ok "start a throwaway PostgreSQL server"
	PG_ONLY=""
	DRIVERS="sqlite"
else
	DRIVERS="sqlite postgres"
fi

for DRIVER in $DRIVERS; do
	export DRIVER
	for t in $BOTH; do "$t"; done
	if [ "$DRIVER" = postgres ]; then for t in $PG_ONLY; do "$t"; done; fi
	if [ "$DRIVER" = sqlite ]; then for t in $SQLITE_ONLY; do "$t"; done; fi
done

echo "integration: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
