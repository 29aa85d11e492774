/*
 * planner.c - from files and history rows to an order and a plan.
 *
 * The order is topological: each app's chain in version order, plus the
 * cross-app "requires" edges; among migrations that are ready at once the
 * lower version goes first, so a single chain is simply version order.
 * Rows whose file is gone ("missing") are placed among their app's
 * migrations by version.  Plans select from that order: migrate walks it
 * forwards, rollback backwards, each pulling in what its targets depend on.
 */
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

const char *dbs_state_name(dbs_state s)
{
	static const char *names[] = { "pending", "applied", "drifted", "missing", "failed",
				       "running" };
	return names[s];
}

void plan_entries_free(plan_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].preds);
	free(e);
}

/* Per-app state while merging: the app's next missing row. */
typedef struct app_cursor {
	const char *app;
	size_t next;
	int seen_applied;
} app_cursor;

static app_cursor *app_find(app_cursor **apps, size_t *napps, const char *app,
			    history_row **missing, size_t nmissing)
{
	for (size_t i = 0; i < *napps; i++)
		if (!strcmp((*apps)[i].app, app))
			return &(*apps)[i];
	*apps = xrealloc(*apps, (*napps + 1) * sizeof(app_cursor));
	app_cursor *ac = &(*apps)[(*napps)++];
	ac->app = app;
	ac->seen_applied = 0;
	ac->next = 0;
	while (ac->next < nmissing && strcmp(missing[ac->next]->app, app) < 0)
		ac->next++;
	return ac;
}

/* Contract migrations run in their own phase; untagged ones are expand. */
static int is_contract(const dbs_entry *p)
{
	return p->phase && !strcmp(p->phase, "contract");
}

static int key_cmp(const char *app_a, const char *ver_a, const char *app_b,
		   const char *ver_b)
{
	int c = strcmp(app_a, app_b);
	return c ? c : dbs_version_cmp(ver_a, ver_b);
}

static int row_cmp(const void *a, const void *b)
{
	const history_row *x = a, *y = b;
	return key_cmp(x->app, x->version, y->app, y->version);
}

/* A migration's key, for finding it by (app, version as numbers). */
typedef struct key {
	const char *app, *version;
	size_t i;     /* its index in the source */
} key;

static int keyed_cmp(const void *a, const void *b)
{
	const key *x = a, *y = b;
	return key_cmp(x->app, x->version, y->app, y->version);
}

/* src's migrations in (app, version) order: chains that order versions
 * as strings (Diesel) may be in another order in src itself. */
static key *by_key(const source *src)
{
	key *v = xcalloc(src->n ? src->n : 1, sizeof(key));
	for (size_t i = 0; i < src->n; i++)
		v[i] = (key){ src->m[i].app, src->m[i].version, i };
	if (src->n)
		qsort(v, src->n, sizeof(key), keyed_cmp);
	return v;
}

/* Index of migration app:version in src, or -1. */
static long find_migration(const key *byk, size_t n, const char *app, const char *version)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = key_cmp(byk[mid].app, byk[mid].version, app, version);
		if (c == 0)
			return (long)byk[mid].i;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Compare an entry's version with v in its chain's order. */
static int entry_vcmp(const plan_entry *e, const char *v)
{
	return e->m ? migration_version_cmp_to(e->m, v) : dbs_version_cmp(e->pub.version, v);
}

static void add_pred(plan_entry *e, size_t p)
{
	e->preds = xrealloc(e->preds, (e->npreds + 1) * sizeof(size_t));
	e->preds[e->npreds++] = p;
}

static void fill_public(plan_entry *e)
{
	dbs_entry *p = &e->pub;
	migration *m = e->m;
	history_row *r = e->row;
	p->app = m ? m->app : r->app;
	p->version = m ? m->version : r->version;
	p->name = m ? m->name : r->name;
	p->path = m ? m->path : NULL;
	p->format = m ? m->format : NULL;
	p->no_transaction = m ? m->up.no_transaction : 0;
	p->down_no_transaction = m ? m->down.no_transaction : 0;
	p->irreversible = m ? migration_irreversible(m) : 0;
	p->phase = m ? m->phase : NULL;
	if (r) {
		p->failed_down = !strcmp(r->status, "failed_down");
		p->applied_at = r->applied_at;
		p->duration_ms = r->duration_ms;
		p->applied_by = r->applied_by;
		p->message = r->message;
	}
	if (!r)
		p->state = DBS_PENDING;
	else if (!m)
		p->state = DBS_MISSING;
	else if (!strcmp(r->status, "failed") || !strcmp(r->status, "failed_down"))
		p->state = DBS_FAILED;
	else if (!migration_checksum_matches(m, r->checksum))
		p->state = DBS_DRIFTED;
	else
		p->state = DBS_APPLIED;
}

/* Name a cycle among the nodes Kahn's algorithm could not place. */
static int cycle_error(plan_entry *tmp, size_t n, const size_t *indeg, dbs_error *err)
{
	size_t start = 0;
	while (start < n && indeg[start] == 0)
		start++;
	/* Walk predecessors that are still unplaced until one repeats. */
	char *seen = xcalloc(n, 1);
	size_t cur = start;
	while (!seen[cur]) {
		seen[cur] = 1;
		for (size_t k = 0; k < tmp[cur].npreds; k++)
			if (indeg[tmp[cur].preds[k]] > 0) {
				cur = tmp[cur].preds[k];
				break;
			}
	}
	strbuf sb;
	strbuf_init(&sb);
	size_t first = cur;
	do {
		migration *m = tmp[cur].m;
		strbuf_addf(&sb, "%s:%s <- ", *m->app ? m->app : "(top)", m->version);
		for (size_t k = 0; k < tmp[cur].npreds; k++)
			if (indeg[tmp[cur].preds[k]] > 0) {
				cur = tmp[cur].preds[k];
				break;
			}
	} while (cur != first);
	strbuf_addf(&sb, "%s:%s", *tmp[first].m->app ? tmp[first].m->app : "(top)",
		    tmp[first].m->version);
	dbs_fail(err, DBS_EINPUT, "dependency cycle: %s", sb.buf);
	dbs_error_set_file(err, tmp[first].m->path, tmp[first].m->requires_line, 0);
	dbs_error_set_hint(err, "remove one of the '-- dbshift:requires' lines in the cycle");
	strbuf_release(&sb);
	free(seen);
	return DBS_EINPUT;
}

/* Edges: each app's chain, then requires (an input error names a
 * requirement that is no migration). */
static int add_edges(plan_entry *tmp, source *src, key *byk, dbs_error *err)
{
	for (size_t i = 0; i < src->n; i++) {
		migration *m = &src->m[i];
		tmp[i].m = m;
		/* a framework's migrations follow what each depends on, not
		 * their app's numbers (Django's branches and merges) */
		if (i > 0 && !strcmp(src->m[i - 1].app, m->app) && !m->ordinal)
			add_pred(&tmp[i], i - 1);
		for (size_t k = 0; k < m->nrequires; k++) {
			char *colon = strchr(m->requires[k], ':');
			char *app = xstrndup(m->requires[k], (size_t)(colon - m->requires[k]));
			long j = find_migration(byk, src->n, app, colon + 1);
			free(app);
			if (j < 0) {
				dbs_fail(err, DBS_EINPUT, "requires %s, which is no migration",
					 m->requires[k]);
				dbs_error_set_file(err, m->path, m->requires_line, 0);
				dbs_error_set_hint(err, "name an existing APP:VERSION (the app is "
						   "the subdirectory of the migrations directory)");
				return DBS_EINPUT;
			}
			add_pred(&tmp[i], (size_t)j);
		}
	}
	return 0;
}

/* Rows to migrations: both in (app, version) order, so merge; rows with
 * no file go to missing. */
static size_t match_rows(plan_entry *tmp, const key *byk, size_t n, history_row *rows,
			 size_t nrows, history_row **missing)
{
	size_t nmissing = 0, i = 0, j = 0;
	if (nrows)
		qsort(rows, nrows, sizeof(history_row), row_cmp);
	while (j < nrows) {
		int c = i < n ? key_cmp(byk[i].app, byk[i].version, rows[j].app, rows[j].version)
			      : 1;
		if (c < 0)
			i++;
		else if (c == 0)
			tmp[byk[i++].i].row = &rows[j++];
		else
			missing[nmissing++] = &rows[j++];
	}
	return nmissing;
}

/* Kahn's algorithm, lowest version first among the ready: order[0..n)
 * when there is no cycle (else an input error naming it). */
static int topo_order(plan_entry *tmp, size_t n, size_t *order, dbs_error *err)
{
	size_t *indeg = xcalloc(n + 1, sizeof(size_t));
	size_t **succ = xcalloc(n + 1, sizeof(size_t *));
	size_t *nsucc = xcalloc(n + 1, sizeof(size_t));
	size_t *ready = xcalloc(n + 1, sizeof(size_t));
	size_t nready = 0, nordered = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < tmp[i].npreds; k++) {
			size_t p = tmp[i].preds[k];
			succ[p] = xrealloc(succ[p], (nsucc[p] + 1) * sizeof(size_t));
			succ[p][nsucc[p]++] = i;
			indeg[i]++;
		}
	for (size_t i = 0; i < n; i++)
		if (indeg[i] == 0)
			ready[nready++] = i;
	while (nready) {
		size_t best = 0;
		for (size_t k = 1; k < nready; k++) {
			migration *a = tmp[ready[k]].m, *b = tmp[ready[best]].m;
			/* a framework's order where it has one, else by version */
			int c = a->ordinal && b->ordinal ? (a->ordinal > b->ordinal) - (a->ordinal < b->ordinal)
							 : migration_version_cmp(a, b);
			if (c < 0 || (c == 0 && strcmp(a->app, b->app) < 0))
				best = k;
		}
		size_t x = ready[best];
		ready[best] = ready[--nready];
		order[nordered++] = x;
		for (size_t k = 0; k < nsucc[x]; k++)
			if (--indeg[succ[x][k]] == 0)
				ready[nready++] = succ[x][k];
	}
	int rc = nordered < n ? cycle_error(tmp, n, indeg, err) : 0;
	for (size_t i = 0; i < n; i++)
		free(succ[i]);
	free(succ);
	free(nsucc);
	free(ready);
	free(indeg);
	return rc;
}

/*
 * Out of order: pending yet older than something applied in its app.
 * Each app's entries are in version order, so walk back and remember
 * which apps have something applied further on.
 */
static void mark_out_of_order(plan_entry *e, size_t ne, app_cursor **apps, size_t *napps,
			      history_row **missing, size_t nmissing)
{
	for (size_t a = 0; a < *napps; a++)
		(*apps)[a].seen_applied = 0;
	for (size_t k = ne; k-- > 0;) {
		app_cursor *ac = app_find(apps, napps, e[k].pub.app, missing, nmissing);
		if (e[k].pub.state != DBS_PENDING)
			ac->seen_applied = 1;
		else if (ac->seen_applied && !is_contract(&e[k].pub) && !(e[k].m && e[k].m->ordinal))
			e[k].pub.out_of_order = 1;  /* contract ones lag by design; a
						       framework's follow its graph */
	}
}

/* The final list: ordered migrations, each app's missing rows merged in
 * by version, predecessors renumbered; tmp's entries move into it. */
static plan_entry *merge_entries(plan_entry *tmp, size_t n, const size_t *order,
				 history_row **missing, size_t nmissing, size_t *ne_out)
{
	plan_entry *e = xcalloc(n + nmissing + 1, sizeof(plan_entry));
	size_t *pos = xcalloc(n + 1, sizeof(size_t)), ne = 0;
	app_cursor *apps = NULL;
	size_t napps = 0;
	for (size_t k = 0; k < n; k++) {
		migration *m = tmp[order[k]].m;
		app_cursor *ac = app_find(&apps, &napps, m->app, missing, nmissing);
		while (ac->next < nmissing && !strcmp(missing[ac->next]->app, m->app) &&
		       migration_version_cmp_to(m, missing[ac->next]->version) > 0)
			e[ne++].row = missing[ac->next++];
		pos[order[k]] = ne;
		e[ne++] = tmp[order[k]];
		tmp[order[k]].preds = NULL;
	}
	for (size_t j = 0; j < nmissing; j++) {
		app_cursor *ac = app_find(&apps, &napps, missing[j]->app, missing, nmissing);
		if (j >= ac->next)
			e[ne++].row = missing[j];
	}
	for (size_t k = 0; k < ne; k++)
		for (size_t q = 0; q < e[k].npreds; q++)
			e[k].preds[q] = pos[e[k].preds[q]];
	for (size_t k = 0; k < ne; k++)
		fill_public(&e[k]);
	mark_out_of_order(e, ne, &apps, &napps, missing, nmissing);
	free(apps);
	free(pos);
	*ne_out = ne;
	return e;
}

int planner_order(plan_entry **out, size_t *nout, source *src,
		  history_row *rows, size_t nrows, dbs_error *err)
{
	size_t n = src->n, nmissing = 0;
	plan_entry *tmp = xcalloc(n ? n : 1, sizeof(plan_entry));
	size_t *order = xcalloc(n ? n : 1, sizeof(size_t));
	history_row **missing = xcalloc(nrows ? nrows : 1, sizeof(history_row *));
	key *byk = by_key(src);
	int rc = add_edges(tmp, src, byk, err);
	if (!rc)
		nmissing = match_rows(tmp, byk, n, rows, nrows, missing);
	if (!rc)
		rc = topo_order(tmp, n, order, err);
	*out = NULL;
	*nout = 0;
	if (!rc)
		*out = merge_entries(tmp, n, order, missing, nmissing, nout);
	free(order);
	free(missing);
	free(byk);
	plan_entries_free(tmp, n);
	return rc;
}

/* A parsed TARGET: "zero", "VERSION" or "APP:VERSION", where VERSION may
 * go on with "_NAME" (Django's "shop:0002_item_note"). */
typedef struct target {
	int zero;
	char *app;       /* NULL: every app */
	const char *version;
	char vbuf[64];   /* the version when a name follows it */
} target;

static int find_app(const char *app, plan_entry *e, size_t n, dbs_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(app, e[i].pub.app))
			return 0;
	dbs_fail(err, DBS_EINPUT, "no app '%s'", app);
	dbs_error_set_hint(err, "with --steps, name an app (run 'dbshift status' to see them)");
	return DBS_EINPUT;
}

static int parse_target(target *t, const char *s, plan_entry *e, size_t n,
			dbs_error *err)
{
	memset(t, 0, sizeof(*t));
	if (!strcmp(s, "zero")) {
		t->zero = 1;
		return 0;
	}
	const char *colon = strrchr(s, ':');
	const char *v = colon ? colon + 1 : s;
	if (colon && colon != s && !strcmp(v, "zero")) {
		/* APP:zero: everything of one app */
		t->app = xstrndup(s, (size_t)(colon - s));
		t->version = "0";
		for (size_t i = 0; i < n; i++)
			if (!strcmp(t->app, e[i].pub.app))
				return 0;
		dbs_fail(err, DBS_EINPUT, "no app '%s'", t->app);
		dbs_error_set_hint(err, "apps are the subdirectories of the migrations directory");
		free(t->app);
		t->app = NULL;
		return DBS_EINPUT;
	}
	const char *name = strchr(v, '_');
	if (name && (size_t)(name - v) < sizeof(t->vbuf)) {
		snprintf(t->vbuf, sizeof(t->vbuf), "%.*s", (int)(name - v), v);
		v = t->vbuf;
		name++;
	}
	size_t vn = strlen(v);
	int ok = vn > 0 && strspn(v, "0123456789.") == vn && v[0] != '.' && v[vn - 1] != '.';
	if (!ok || colon == s)
		return dbs_fail(err, DBS_EINPUT, "bad target '%s': expected VERSION, "
				"VERSION_NAME, APP:VERSION, APP:zero or zero", s);
	t->app = colon ? xstrndup(s, (size_t)(colon - s)) : NULL;
	t->version = v;
	for (size_t i = 0; i < n; i++)
		if ((!t->app || !strcmp(t->app, e[i].pub.app)) && !entry_vcmp(&e[i], v) &&
		    (!name || !strcmp(name, e[i].pub.name)))
			return 0;
	dbs_fail(err, DBS_EINPUT, "no migration %s", s);
	dbs_error_set_hint(err, "run 'dbshift status' to see the versions there are");
	free(t->app);
	t->app = NULL;
	return DBS_EINPUT;
}

static void plan_push(dbs_plan *plan, plan_entry *e, dbs_direction dir)
{
	plan->steps = xrealloc(plan->steps, (plan->n + 1) * sizeof(dbs_step));
	dbs_step *s = &plan->steps[plan->n++];
	s->entry = &e->pub;
	s->direction = dir;
	section *sec = e->m ? (dir == DBS_UP ? &e->m->up : &e->m->down) : NULL;
	s->sql = sec ? sec->sql : NULL;
	s->file = sec ? sec->file : NULL;
	s->no_transaction = sec ? sec->no_transaction : 0;
}

static const plan_entry *entry_of_step(const dbs_step *s)
{
	return (const plan_entry *)(const void *)s->entry;  /* pub comes first */
}

const char *plan_label(const dbs_entry *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s%s", p->app, *p->app ? "/" : "", p->version,
		 *p->name ? "_" : "", p->name);
	return buf;
}

/* Refusals that hold whatever the plan: failed rows first, then drift. */
static int check_policy(plan_entry *e, size_t n, int allow_drift, dbs_error *err)
{
	char buf[512];
	for (size_t i = 0; i < n; i++) {
		dbs_entry *p = &e[i].pub;
		if (p->state == DBS_RUNNING) {  /* its run holds the lock: this one waits */
			dbs_fail(err, DBS_EPOLICY, "migration %s is being %s outside a transaction "
				 "by another run", plan_label(p, buf, sizeof(buf)),
				 p->failed_down ? "rolled back" : "applied");
			dbs_error_set_detail(err, "%s", p->message);
			dbs_error_set_hint(err, "wait for that run to end ('dbshift watch')");
			continue;
		}
		if (p->state != DBS_FAILED)
			continue;
		dbs_fail(err, DBS_EPOLICY, "%smigration %s failed earlier and blocks "
			 "further runs", p->failed_down ? "the rollback of " : "",
			 plan_label(p, buf, sizeof(buf)));
		if (p->message)
			dbs_error_set_detail(err, "%s", p->message);
		if (p->failed_down)
			dbs_error_set_hint(err, "its down ran outside a transaction, so part "
				"of it may have run: check what the down drops or changes, then "
				"finish it by hand and run 'dbshift repair --down-done', or undo "
				"it and run 'dbshift repair --down-undone'");
		else
			dbs_error_set_hint(err, "it ran outside a transaction, so part of it "
				"may have been applied: check the objects it creates or changes, "
				"finish or undo them by hand, then run 'dbshift repair'");
		return DBS_EPOLICY;
	}
	for (size_t i = 0; i < n && !allow_drift; i++) {
		dbs_entry *p = &e[i].pub;
		if (p->state != DBS_DRIFTED)
			continue;
		dbs_fail(err, DBS_EPOLICY, "migration %s was changed after it was "
			 "applied", plan_label(p, buf, sizeof(buf)));
		if (p->format && !strcmp(p->format, "django"))  /* repair is not Django's */
			dbs_error_set_hint(err, "restore the file as it was applied, or run "
				"with --allow-drift");
		else
			dbs_error_set_hint(err, "restore the file as it was applied, or accept "
				"the change with 'dbshift repair' (or run with --allow-drift)");
		return DBS_EPOLICY;
	}
	return 0;
}

int planner_migrate(dbs_plan *plan, plan_entry *e, size_t n,
		    const dbs_migrate_opts *o, dbs_error *err)
{
	target t = { 0 };
	int rc = 0;
	memset(plan, 0, sizeof(*plan));
	if (o->target) {
		rc = parse_target(&t, o->target, e, n, err);
		if (!rc && t.zero)
			rc = dbs_fail(err, DBS_EINPUT, "migrate cannot go to 'zero'");
		if (rc)
			return rc;
	}
	int want_contract = o->phase && !strcmp(o->phase, "contract");
	char *sel = xcalloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++) {
		dbs_entry *p = &e[i].pub;
		if (p->state != DBS_PENDING || (o->phase && is_contract(p) != want_contract))
			continue;
		if (!o->target || ((!t.app || !strcmp(t.app, p->app)) &&
				   entry_vcmp(&e[i], t.version) <= 0))
			sel[i] = 1;
	}
	/*
	 * Pull in what the selected depend on (entries are in topological
	 * order), except across phases: a contract migration waits for its
	 * phase, and one that follows a pending expand migration is refused.
	 */
	for (size_t i = n; i-- > 0;)
		if (sel[i])
			for (size_t k = 0; k < e[i].npreds; k++) {
				dbs_entry *p = &e[e[i].preds[k]].pub;
				if (p->state == DBS_PENDING && (!o->phase || is_contract(p) == want_contract))
					sel[e[i].preds[k]] = 1;
			}
	for (size_t i = 0; i < n; i++)
		if (sel[i])
			plan_push(plan, &e[i], DBS_UP);
	free(sel);
	free(t.app);

	rc = check_policy(e, n, o->allow_drift, err);
	for (size_t i = 0; !rc && i < plan->n; i++) {
		const dbs_entry *p = plan->steps[i].entry;
		char buf[512];
		if (want_contract) {
			/* every expand migration before it must be applied */
			for (size_t k = 0; k < n && !rc; k++) {
				const dbs_entry *q = &e[k].pub;
				if (q == p)
					break;
				if (q->state == DBS_PENDING && !is_contract(q)) {
					char b2[512];
					rc = dbs_fail(err, DBS_EPOLICY, "contract migration %s follows "
						      "expand migration %s, which is not applied yet",
						      plan_label(p, buf, sizeof(buf)), plan_label(q, b2, sizeof(b2)));
					dbs_error_set_hint(err, "run 'dbshift migrate --phase expand' "
							   "and deploy the new code first");
				}
			}
		}
		if (!rc && p->out_of_order && !o->allow_out_of_order && !is_contract(p)) {
			rc = dbs_fail(err, DBS_EPOLICY, "migration %s is older than the newest "
				      "applied migration", plan_label(p, buf, sizeof(buf)));
			dbs_error_set_hint(err, "give it a newer version, or apply it with "
					   "--allow-out-of-order if it does not depend on order");
		}
	}
	if (rc)
		plan->blocked = 1;
	return rc;
}

static int applied(const dbs_entry *p)
{
	return p->state == DBS_APPLIED || p->state == DBS_DRIFTED ||
	       p->state == DBS_MISSING;
}

int planner_rollback(dbs_plan *plan, plan_entry *e, size_t n,
		     const dbs_migrate_opts *o, dbs_error *err)
{
	target t = { 0 };
	int rc = 0;
	memset(plan, 0, sizeof(*plan));
	/* with steps, the target is an app: the last steps of that app */
	const char *app = o->steps > 0 ? o->target : NULL;
	if (app && (rc = find_app(app, e, n, err)))
		return rc;
	if (o->target && !app && (rc = parse_target(&t, o->target, e, n, err)))
		return rc;
	char *sel = xcalloc(n ? n : 1, 1);
	if (o->target && !app) {
		for (size_t i = 0; i < n; i++)
			if (applied(&e[i].pub) && (t.zero ||
			    ((!t.app || !strcmp(t.app, e[i].pub.app)) &&
			     entry_vcmp(&e[i], t.version) > 0)))
				sel[i] = 1;
	} else {
		size_t want = o->steps > 0 ? (size_t)o->steps : 1;
		for (size_t i = n; i-- > 0 && want > 0;)
			if (applied(&e[i].pub) && (!app || !strcmp(app, e[i].pub.app))) {
				sel[i] = 1;
				want--;
			}
	}
	/* What depends on a migration being undone goes first. */
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < e[i].npreds && !sel[i]; k++)
			if (sel[e[i].preds[k]] && applied(&e[i].pub))
				sel[i] = 1;
	for (size_t i = n; i-- > 0;)
		if (sel[i])
			plan_push(plan, &e[i], DBS_DOWN);
	free(sel);
	free(t.app);

	rc = check_policy(e, n, o->allow_drift, err);
	for (size_t i = 0; !rc && i < plan->n; i++) {
		const dbs_entry *p = plan->steps[i].entry;
		char buf[512];
		if (p->state == DBS_MISSING) {
			rc = dbs_fail(err, DBS_EINPUT, "cannot roll back %s: its file is missing",
				      plan_label(p, buf, sizeof(buf)));
			dbs_error_set_hint(err, "restore the migration file, or choose a "
					   "target above it");
		} else if (p->irreversible && !o->allow_irreversible) {
			const section *down = &entry_of_step(&plan->steps[i])->m->down;
			rc = dbs_fail(err, DBS_EPOLICY, "cannot roll back %s: it is irreversible "
				      "(%s)", plan_label(p, buf, sizeof(buf)), down->sql
				      ? "its down holds no statement" : "it has no down");
			dbs_error_set_file(err, down->file ? down->file : p->path, 0, 0);
			dbs_error_set_hint(err, "add the SQL that undoes it (a '-- migrate:down' "
					   "section or a down file), or run with "
					   "--allow-irreversible to forget it without undoing anything");
		}
	}
	if (rc)
		plan->blocked = 1;
	return rc;
}

/*
 * A framework's own plan (Django's executor's): its steps as it lists
 * them, in its order, less what the history as it is now says is done
 * already; then the same refusals as dbshift's own plans.  migrate never
 * goes back and rollback never forward: such a step is refused, naming
 * the command that does it.
 */
int planner_listed(dbs_plan *plan, plan_entry *e, size_t n, const fw_step *steps,
		   size_t nsteps, int rollback, const dbs_migrate_opts *o, dbs_error *err)
{
	int rc = 0;
	memset(plan, 0, sizeof(*plan));
	for (size_t k = 0; k < nsteps && !rc; k++) {
		size_t i = 0;
		while (i < n && (!e[i].m || strcmp(e[i].m->path, steps[k].path)))
			i++;
		if (i == n) {
			rc = dbs_fail(err, DBS_EFAIL, "the framework's plan has %s, which it did not "
				      "list", steps[k].path);
			dbs_error_set_hint(err, "its migrations changed while dbshift read them, or "
					   "it plans through migrations a squash replaced: run the "
					   "command again, or name a target after the squash");
		} else if (steps[k].up == rollback) {
			rc = dbs_fail(err, DBS_EINPUT, "%s would %s %s", rollback ? "rollback"
				      : "migrate", rollback ? "apply" : "undo", steps[k].path);
			dbs_error_set_hint(err, rollback ? "%s is not applied: 'dbshift migrate %s' "
					   "applies it" : "that target is applied, and what follows "
					   "it too: 'dbshift rollback %s' goes back to it", o->target,
					   o->target);
		} else if (steps[k].up ? e[i].pub.state == DBS_PENDING : applied(&e[i].pub)) {
			plan_push(plan, &e[i], steps[k].up ? DBS_UP : DBS_DOWN);
		}
	}
	if (!rc)  /* (what the framework cannot undo is refused once its SQL is read) */
		rc = check_policy(e, n, o->allow_drift, err);
	if (rc)
		plan->blocked = 1;
	return rc;
}

void dbs_plan_free(dbs_plan *plan)
{
	if (!plan)
		return;
	free(plan->steps);
	dbs_lint_free(plan->lint);
	free(plan);
}
