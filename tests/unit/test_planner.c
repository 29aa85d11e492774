/* test_planner.c - order, targets, apps, cycles, out-of-order, rollback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan/plan.h"

/* A source from "app:version[>app:version]" specs; the up SQL is the spec. */
static void make_source(source *src, const char *const *specs, size_t n)
{
	memset(src, 0, sizeof(*src));
	src->m = xcalloc(n, sizeof(migration));
	src->n = n;
	for (size_t i = 0; i < n; i++) {
		migration *m = &src->m[i];
		char *spec = xstrdup(specs[i]);
		char *req = strchr(spec, '>');
		if (req) {
			*req++ = '\0';
			m->requires = xcalloc(1, sizeof(char *));
			m->requires[0] = xstrdup(req);
			m->nrequires = 1;
		}
		char *colon = strchr(spec, ':');
		m->app = xstrndup(spec, (size_t)(colon - spec));
		m->version = xstrdup(colon + 1);
		m->name = xstrdup("m");
		m->path = xprintf("%s.sql", spec);
		m->format = "dbmate";
		m->up.sql = xstrdup(specs[i]);
		m->up.file = xstrdup(m->path);
		m->down.sql = xstrdup("SELECT 1;");
		m->down.file = xstrdup(m->path);
		sha256_hex(m->up.sql, strlen(m->up.sql), m->checksum);
		free(spec);
	}
}

static history_row *rows_for(const source *src, const char *const *keys, size_t n)
{
	history_row *rows = xcalloc(n ? n : 1, sizeof(history_row));
	for (size_t i = 0; i < n; i++) {
		const char *colon = strchr(keys[i], ':');
		rows[i].app = xstrndup(keys[i], (size_t)(colon - keys[i]));
		rows[i].version = xstrdup(colon + 1);
		rows[i].name = xstrdup("m");
		rows[i].status = xstrdup("applied");
		rows[i].applied_at = xstrdup("2026-01-01 00:00:00+00");
		rows[i].applied_by = xstrdup("t@h");
		rows[i].checksum = xstrdup("");
		for (size_t k = 0; k < src->n; k++)
			if (!strcmp(src->m[k].app, rows[i].app) &&
			    !strcmp(src->m[k].version, rows[i].version)) {
				free(rows[i].checksum);
				rows[i].checksum = xstrdup(src->m[k].checksum);
			}
	}
	return rows;
}

/* "app:version,..." of a plan or an order. */
static char *plan_str(const dbs_plan *p)
{
	strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < p->n; i++)
		strbuf_addf(&sb, "%s%s%s:%s", i ? "," : "",
			    p->steps[i].direction == DBS_DOWN ? "-" : "",
			    p->steps[i].entry->app, p->steps[i].entry->version);
	return strbuf_detach(&sb);
}

typedef struct fixture {
	source src;
	history_row *rows;
	size_t nrows;
	plan_entry *e;
	size_t n;
	dbs_error err;
} fixture;

static int setup(fixture *f, const char *const *specs, size_t n, const char *const *applied,
		 size_t na)
{
	memset(f, 0, sizeof(*f));
	make_source(&f->src, specs, n);
	f->rows = rows_for(&f->src, applied, na);
	f->nrows = na;
	return planner_order(&f->e, &f->n, &f->src, f->rows, na, &f->err);
}

static void teardown(fixture *f)
{
	plan_entries_free(f->e, f->n);
	history_rows_free(f->rows, f->nrows);
	source_release(&f->src);
	dbs_error_clear(&f->err);
}

static void check_migrate(fixture *f, const char *target, int rc_want, const char *want)
{
	dbs_plan p;
	dbs_migrate_opts o = { .target = target };
	dbs_error_clear(&f->err);
	assert_int_equal(planner_migrate(&p, f->e, f->n, &o, &f->err), rc_want);
	char *got = plan_str(&p);
	assert_string_equal(got, want);
	free(got);
	free(p.steps);
}

static void check_rollback(fixture *f, const char *target, int steps, const char *want)
{
	dbs_plan p;
	dbs_migrate_opts o = { .target = target, .steps = steps };
	dbs_error_clear(&f->err);
	assert_int_equal(planner_rollback(&p, f->e, f->n, &o, &f->err), 0);
	char *got = plan_str(&p);
	assert_string_equal(got, want);
	free(got);
	free(p.steps);
}

static void single_chain_targets(void **state)
{
	(void)state;
	/* source order is (app, version) sorted, as source_load gives it */
	const char *specs[] = { ":1", ":2", ":10" };
	const char *applied[] = { ":1" };
	fixture f;
	assert_int_equal(setup(&f, specs, 3, applied, 1), 0);
	check_migrate(&f, NULL, 0, ":2,:10");
	check_migrate(&f, "2", 0, ":2");
	check_migrate(&f, "3", DBS_EINPUT, "");
	assert_string_equal(f.err.message, "no migration 3");
	check_migrate(&f, "zero", DBS_EINPUT, "");
	check_migrate(&f, "x1", DBS_EINPUT, "");
	assert_string_equal(f.err.message, "bad target 'x1': expected VERSION, VERSION_NAME, APP:VERSION, APP:zero or zero");
	check_rollback(&f, NULL, 0, "-:1");
	check_rollback(&f, "zero", 0, "-:1");
	teardown(&f);
}

static void apps_topological(void **state)
{
	(void)state;
	const char *specs[] = { "billing:20230101>core:20240101", "billing:20240301",
				"core:20240101", "core:20240201" };
	fixture f;
	assert_int_equal(setup(&f, specs, 4, NULL, 0), 0);
	check_migrate(&f, NULL, 0, "core:20240101,billing:20230101,core:20240201,billing:20240301");
	check_migrate(&f, "billing:20230101", 0, "core:20240101,billing:20230101");
	check_migrate(&f, "20240101", 0, "core:20240101,billing:20230101");
	teardown(&f);

	const char *applied[] = { "billing:20230101", "core:20240101", "core:20240201" };
	assert_int_equal(setup(&f, specs, 4, applied, 3), 0);
	check_rollback(&f, "core:20240101", 0, "-core:20240201");
	check_rollback(&f, "core:zero", 0, "-core:20240201,-billing:20230101,-core:20240101");
	check_rollback(&f, NULL, 2, "-core:20240201,-billing:20230101");
	teardown(&f);
}

static void cycle_named(void **state)
{
	(void)state;
	const char *specs[] = { "a:1", "a:2>b:5", "b:5>a:2" };
	fixture f;
	assert_int_equal(setup(&f, specs, 3, NULL, 0), DBS_EINPUT);
	assert_string_equal(f.err.message, "dependency cycle: a:2 <- b:5 <- a:2");
	teardown(&f);

	const char *bad[] = { "a:1>b:9" };
	assert_int_equal(setup(&f, bad, 1, NULL, 0), DBS_EINPUT);
	assert_string_equal(f.err.message, "requires b:9, which is no migration");
	teardown(&f);
}

static void states_and_policy(void **state)
{
	(void)state;
	const char *specs[] = { ":1", ":2", ":3" };
	const char *applied[] = { ":1", ":3", ":7" };
	fixture f;
	assert_int_equal(setup(&f, specs, 3, applied, 3), 0);
	assert_int_equal(f.n, 4);
	assert_int_equal(f.e[0].pub.state, DBS_APPLIED);
	assert_int_equal(f.e[1].pub.state, DBS_PENDING);
	assert_int_equal(f.e[1].pub.out_of_order, 1);
	assert_int_equal(f.e[2].pub.state, DBS_APPLIED);
	assert_int_equal(f.e[3].pub.state, DBS_MISSING);
	assert_string_equal(f.e[3].pub.version, "7");
	check_migrate(&f, NULL, DBS_EPOLICY, ":2");
	assert_string_equal(f.err.message, "migration 2_m is older than the newest applied migration");
	dbs_plan p;
	dbs_migrate_opts o = { .allow_out_of_order = 1 };
	assert_int_equal(planner_migrate(&p, f.e, f.n, &o, &f.err), 0);
	free(p.steps);
	teardown(&f);

	/* drift and failed rows */
	assert_int_equal(setup(&f, specs, 3, applied, 2), 0);
	free(f.rows[0].checksum);
	f.rows[0].checksum = xstrdup("changed");
	plan_entries_free(f.e, f.n);
	assert_int_equal(planner_order(&f.e, &f.n, &f.src, f.rows, 2, &f.err), 0);
	assert_int_equal(f.e[0].pub.state, DBS_DRIFTED);
	check_migrate(&f, NULL, DBS_EPOLICY, ":2");
	assert_string_equal(f.err.message, "migration 1_m was changed after it was applied");
	free(f.rows[1].status);
	f.rows[1].status = xstrdup("failed");
	plan_entries_free(f.e, f.n);
	assert_int_equal(planner_order(&f.e, &f.n, &f.src, f.rows, 2, &f.err), 0);
	check_migrate(&f, NULL, DBS_EPOLICY, ":2");
	assert_string_equal(f.err.message, "migration 3_m failed earlier and blocks further runs");
	teardown(&f);
}

static void phases(void **state)
{
	(void)state;
	const char *specs[] = { ":1", ":2", ":3" };
	fixture f;
	make_source(&f.src, specs, 3);
	f.src.m[0].phase = xstrdup("expand");
	f.src.m[1].phase = xstrdup("contract");
	f.rows = rows_for(&f.src, NULL, 0);
	f.nrows = 0;
	memset(&f.err, 0, sizeof(f.err));
	assert_int_equal(planner_order(&f.e, &f.n, &f.src, f.rows, 0, &f.err), 0);
	dbs_plan p;
	dbs_migrate_opts o = { .phase = "expand" };
	assert_int_equal(planner_migrate(&p, f.e, f.n, &o, &f.err), 0);
	char *got = plan_str(&p);
	assert_string_equal(got, ":1,:3");  /* untagged counts as expand */
	free(got);
	free(p.steps);
	o.phase = "contract";
	assert_int_equal(planner_migrate(&p, f.e, f.n, &o, &f.err), DBS_EPOLICY);
	assert_string_equal(f.err.message, "contract migration 2_m follows expand migration "
			    "1_m, which is not applied yet");
	free(p.steps);
	teardown(&f);

	/* once expand ran, contract is neither refused nor out of order */
	const char *applied[] = { ":1", ":3" };
	make_source(&f.src, specs, 3);
	f.src.m[1].phase = xstrdup("contract");
	f.rows = rows_for(&f.src, applied, 2);
	f.nrows = 2;
	assert_int_equal(planner_order(&f.e, &f.n, &f.src, f.rows, 2, &f.err), 0);
	assert_int_equal(f.e[1].pub.out_of_order, 0);
	assert_int_equal(planner_migrate(&p, f.e, f.n, &o, &f.err), 0);
	got = plan_str(&p);
	assert_string_equal(got, ":2");
	free(got);
	free(p.steps);
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_chain_targets),
		cmocka_unit_test(apps_topological),
		cmocka_unit_test(cycle_named),
		cmocka_unit_test(states_and_policy),
		cmocka_unit_test(phases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
