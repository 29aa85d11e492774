/*
 * django.c - a Django project's own migrations, through its manage.py.
 * What dbshift reads, it reads in one Python start: `manage.py shell
 * --command` runs django_helper.py (compiled in), which loads Django's
 * MigrationLoader once and prints one JSON document: every migration in
 * the executor's order, what each depends on, its file's SHA-256 and
 * operations, and its SQL both ways as `sqlmigrate` writes it, and the
 * database Django's settings point at.  Django's django_migrations table
 * says what is applied (and when), and `migrate APP NAME` applies one
 * (undone with `migrate APP PREVIOUS`, or `zero`), so RunPython, atomic =
 * False and state operations keep Django's meaning.  Each command is an
 * argv (the manage setting, no shell) with a timeout (manage_timeout),
 * its stderr kept apart for the error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "django_helper.h"
#include "framework/framework.h"

enum { UP = 1, DOWN = 2 };  /* the ways of a migration's SQL */

typedef struct dj_node {
	char *app, *full;    /* "shop", "0002_item_note" */
	char *parent;        /* the migration of its app it follows, or NULL */
	json_t *doc;         /* its entry in the helper's document (borrowed) */
} dj_node;

struct framework {
	char **manage;       /* argv words */
	size_t nmanage;
	char *settings;      /* --settings, or NULL */
	int timeout_ms;
	char *pgoptions;     /* "PGOPTIONS=..." with dbshift's timeouts, or NULL */
	int ways;            /* the SQL read first: UP | DOWN (0: none, status) */
	char *request;       /* DBSHIFT_PLAN for the helper, or NULL */
	json_t *doc;         /* the helper's document, once read */
	dj_node *nodes;      /* from list */
	size_t nnodes;
	fw_step *steps;      /* the plan last asked for */
	size_t nsteps;
	int serve;           /* the helper waits to run migrate (framework_serve) */
	/* the helper under way: started (at open, while dbshift connects),
	 * its document read or not; serving, it waits for its word */
	spawn_child *child;
	spawn_opts child_opts;
	char *child_errs;    /* its stderr */
	int child_ways;      /* the SQL it was asked for */
	char *child_request; /* the DBSHIFT_PLAN it was given, or NULL */
	int child_read;      /* its document is read */
};

/* The helper's DBSHIFT_PLAN for kind, target and steps: a list of strings
 * and a number, which JSON and Python write alike (caller frees). */
static char *plan_request(const char *kind, const char *target, int steps)
{
	int by_app = steps > 0;
	json_t *r = json_pack("[s, s, i, s]", kind, target && !by_app ? target : "",
			      steps > 0 ? steps : 1, by_app && target ? target : "");
	char *text = json_dumps(r, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(r);
	return text;
}

static void helper_stop(framework *fw);
static int helper_start(framework *fw, int ways, dbs_error *err);
static void dj_close(framework *fw);

static int dj_open(framework **out, const dbs_options *o, dbs_error *err)
{
	framework *fw = xcalloc(1, sizeof(*fw));
	const char *manage = o->manage ? o->manage : "python3 manage.py";
	if (split_words(manage, &fw->manage, &fw->nmanage) || !fw->nmanage ||
	    !*fw->manage[0]) {
		free_words(fw->manage);  /* (NULL when the split failed) */
		free(fw);
		dbs_fail(err, DBS_EINPUT, "manage = '%s' is no command", manage);
		dbs_error_set_hint(err, "write the words that run the project's manage.py, e.g. "
				   "manage = /usr/bin/python3 manage.py");
		return DBS_EINPUT;
	}
	fw->settings = o->settings ? xstrdup(o->settings) : NULL;
	fw->ways = o->framework_no_sql ? 0 : o->framework_sql_way && !strcmp(o->framework_sql_way,
		   "up") ? UP : o->framework_sql_way && !strcmp(o->framework_sql_way, "down")
		   ? DOWN : UP | DOWN;
	fw->serve = o->framework_serve;
	if (o->framework_plan)
		fw->request = plan_request(o->framework_plan, o->framework_plan_target,
					   o->framework_plan_steps);
	fw->timeout_ms = o->manage_timeout_ms > 0 ? o->manage_timeout_ms : 3600000;
	/* dbshift's lock_timeout and statement_timeout reach Django's
	 * connections through libpq, which reads PGOPTIONS */
	int lock_ms = 0, stmt_ms = 0;
	if (o->lock_timeout)
		parse_duration_ms(o->lock_timeout, &lock_ms);
	if (o->statement_timeout)
		parse_duration_ms(o->statement_timeout, &stmt_ms);
	if (lock_ms > 0 || stmt_ms > 0) {
		const char *was = getenv("PGOPTIONS");
		char lock[48] = "", stmt[48] = "";
		if (lock_ms > 0)
			snprintf(lock, sizeof(lock), " -c lock_timeout=%dms", lock_ms);
		if (stmt_ms > 0)
			snprintf(stmt, sizeof(stmt), " -c statement_timeout=%dms", stmt_ms);
		fw->pgoptions = xprintf("PGOPTIONS=%s%s%s", was ? was : "", lock, stmt);
	}
	/* Python and Django start while dbshift connects to the database */
	int rc = helper_start(fw, fw->ways, err);
	if (rc) {
		dj_close(fw);
		return rc;
	}
	*out = fw;
	return 0;
}

static void dj_close(framework *fw)
{
	if (!fw)
		return;
	helper_stop(fw);
	free_words(fw->manage);
	free(fw->settings);
	free(fw->pgoptions);
	free(fw->request);
	for (size_t i = 0; i < fw->nsteps; i++)
		free(fw->steps[i].path);
	free(fw->steps);
	for (size_t i = 0; i < fw->nnodes; i++) {
		free(fw->nodes[i].app);
		free(fw->nodes[i].full);
		free(fw->nodes[i].parent);
	}
	free(fw->nodes);
	json_decref(fw->doc);
	free(fw);
}

/* ---- running manage.py ---- */

/* The last n lines of text that are not blank, as one string. */
static char *last_lines(const char *text, int n)
{
	const char *end = text + strlen(text), *p = end;
	int got = 0;
	while (p > text && got < n) {
		const char *q = p;
		while (q > text && q[-1] != '\n')
			q--;
		if (strspn(q, " \t\r") < (size_t)(p - q))
			got++;
		p = q > text ? q - 1 : q;
	}
	p += strspn(p, "\n");
	return xstrndup(p, (size_t)(end - p));
}

/* The error a Python traceback ends with: from its last line that starts
 * "SomeError: " (or "...Exception: ") to the end, on one line; else the
 * last line (caller frees). */
static char *python_error(const char *text)
{
	const char *found = NULL;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n"), id = strspn(p, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
		if (id && id < len && p[id] == ':' && (memmem(p, id, "Error", 5) ||
						       memmem(p, id, "Exception", 9)))
			found = p;
		p += len + (p[len] == '\n');
	}
	if (!found)
		return last_lines(text, 1);
	strbuf sb;
	strbuf_init(&sb);
	for (const char *p = found; *p;) {
		size_t len = strcspn(p, "\n"), lead = strspn(p, " \t");
		if (len > lead)
			strbuf_addf(&sb, "%s%.*s", sb.len ? " " : "", (int)(len - lead), p + lead);
		p += len + (p[len] == '\n');
	}
	return strbuf_detach(&sb);
}

/* The manage words, args and --settings: argv (its --settings word in
 * *settings; caller frees both). */
static const char **manage_argv(const framework *fw, const char *const *args, char **settings)
{
	size_t na = 0;
	while (args[na])
		na++;
	const char **argv = xcalloc(fw->nmanage + na + 2, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < fw->nmanage; i++)
		argv[k++] = fw->manage[i];
	for (size_t i = 0; i < na; i++)
		argv[k++] = args[i];
	*settings = fw->settings ? xprintf("--settings=%s", fw->settings) : NULL;
	if (*settings)
		argv[k++] = *settings;
	argv[k] = NULL;
	return argv;
}

/* How manage.py runs: within manage_timeout, with dbshift's PGOPTIONS;
 * what Django prints of a project is far less than 64 MB, so more is no
 * output of Django's. */
static void manage_opts(const framework *fw, spawn_opts *so, char **errs)
{
	so->timeout_ms = fw->timeout_ms;
	so->err_text = errs;
	so->max_out = 64 << 20;
}

/* What a failure to run manage.py (not its exit code) says. */
static int not_run(int rc, const char *out, const char *errs, dbs_error *err)
{
	if (rc && !out)
		dbs_error_set_hint(err, "set manage in dbshift.conf to the words that run the "
				   "project's manage.py, e.g. manage = /usr/bin/python3 manage.py");
	else if (rc && errs && *errs)
		dbs_error_set_detail(err, "%s", errs);
	return rc;
}

/* Run manage.py with args; its stdout (or, with o->out_sink, none) and
 * stderr, and exit code. */
static int manage_with(framework *fw, const char *const *args, spawn_opts *so, char **out,
		       char **errs, int *code, dbs_error *err)
{
	char *settings = NULL;
	const char **argv = manage_argv(fw, args, &settings);
	*out = *errs = NULL;
	*code = -1;
	manage_opts(fw, so, errs);
	const char *env[] = { fw->pgoptions, NULL };
	int rc = spawn_full(argv, fw->pgoptions ? env : NULL, so, out, code, err);
	free(settings);
	free(argv);
	return not_run(rc, *out, *errs, err);
}

static int manage(framework *fw, const char *const *args, char **out, char **errs, int *code,
		  dbs_error *err)
{
	spawn_opts so = { 0 };
	return manage_with(fw, args, &so, out, errs, code, err);
}

/* A manage.py command that exited non-zero: "WHAT: the error" with the
 * exception its traceback ends with (stderr, else stdout), and the
 * traceback's last frames in the detail. */
static int failed(dbs_error *err, const char *errs, const char *out, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int failed(dbs_error *err, const char *errs, const char *out, const char *fmt, ...)
{
	const char *why = errs && *errs ? errs : out ? out : "";
	char what[512], *last = python_error(why);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	dbs_fail(err, DBS_EFAIL, "%s: %s", what, last);
	/* a lock it gave up waiting for (lock_timeout, through PGOPTIONS; or
	 * SQLite's busy timeout) is the server's, for dbshift to retry */
	if (strstr(last, "canceling statement due to lock timeout"))
		err->sqlstate = xstrdup("55P03");
	else if (strstr(last, "OperationalError: database is locked"))
		err->sqlstate = xstrdup("5");
	free(last);
	last = last_lines(why, 12);
	const char *frame = strstr(last, "  File \"");  /* from a whole frame */
	dbs_error_set_detail(err, "%s", frame ? frame : last);
	free(last);
	return DBS_EFAIL;
}

/* ---- names ---- */

/*
 * A Django migration is known by its app and its name ("0002_item_note"),
 * never by its number: two branches may both have a 0002 (and a merge
 * after them), and django_migrations records names.  So dbshift's version
 * of it is its whole name, with no name apart.
 */
static const dj_node *node_named(const framework *fw, const char *app, const char *full)
{
	for (size_t i = 0; i < fw->nnodes; i++)
		if (!strcmp(fw->nodes[i].app, app) && !strcmp(fw->nodes[i].full, full))
			return &fw->nodes[i];
	return NULL;
}

static const dj_node *node_of(const framework *fw, const migration *m)
{
	return node_named(fw, m->app, m->version);
}

static int by_app_version(const void *a, const void *b)
{
	const migration *x = a, *y = b;
	int c = strcmp(x->app, y->app);
	return c ? c : strcmp(x->version, y->version);
}

/* ---- the interface ---- */

/* What the helper printed, when it is not its document: shown printable
 * and short, as an error. */
static int not_the_document(const char *out, const char *why, dbs_error *err)
{
	const char *l = out + strspn(out, " \t\r\n");
	char shown[81];
	size_t k = 0;
	for (; l[k] && l[k] != '\n' && k < 80; k++)
		shown[k] = (unsigned char)l[k] < 0x20 || (unsigned char)l[k] > 0x7e ? '?' : l[k];
	shown[k] = '\0';
	dbs_fail(err, DBS_EFAIL, "manage.py shell did not print the migrations as JSON (%s): "
		 "'%s%s'", why, shown, l[k] ? "..." : "");
	dbs_error_set_hint(err, "check that manage in dbshift.conf runs the project's manage.py, "
			   "and that nothing else prints to its standard output");
	return DBS_EFAIL;
}

static int is_text_pair(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) == 2 &&
	       json_is_string(json_array_get(v, 0)) && json_is_string(json_array_get(v, 1));
}

/* Is e a migration of the helper's document? */
static int entry_ok(const json_t *e)
{
	const json_t *deps = json_object_get(e, "dependencies");
	size_t i;
	json_t *d;
	if (!json_is_string(json_object_get(e, "app")) || !json_is_string(json_object_get(e, "name")) ||
	    !json_is_array(deps))
		return 0;
	json_array_foreach(deps, i, d)
		if (!is_text_pair(d))
			return 0;
	return 1;
}

/* The helper under way, stopped: before its document was read, after
 * (ending of itself), or serving and never told to run anything. */
static void helper_stop(framework *fw)
{
	free(fw->child_request);
	fw->child_request = NULL;
	if (!fw->child)
		return;
	char *out = NULL;
	int code = 0;
	dbs_error e = { 0 };
	/* what it was read for is read, or not wanted: it does nothing more of
	 * use (it only read), so it is not waited for to end of itself */
	spawn_kill(fw->child);
	fw->child_opts.out_sink = NULL;
	spawn_finish(fw->child, &out, &code, &e);
	fw->child = NULL;
	free(out);
	free(fw->child_errs);
	fw->child_errs = NULL;
	dbs_error_clear(&e);
}

/* Start the helper (`manage.py shell --command`) with what it is to
 * print: the SQL of ways, Django's plan for fw->request; with fw->serve, a
 * socket to its stdin for its word. */
static int helper_start(framework *fw, int ways, dbs_error *err)
{
	static const char *want[] = { "DBSHIFT_WANT_SQL = False\n", "DBSHIFT_WANT_SQL = \"up\"\n",
				      "DBSHIFT_WANT_SQL = \"down\"\n", "" };
	helper_stop(fw);
	char *code = xprintf("%s%s%s%s%s%s", want[ways & (UP | DOWN)],
			     fw->serve ? "DBSHIFT_SERVE = True\n" : "",
			     fw->request ? "DBSHIFT_PLAN = " : "", fw->request ? fw->request : "",
			     fw->request ? "\n" : "", django_helper_py);
	const char *args[] = { "shell", "--command", code, NULL };
	char *settings = NULL;
	const char **argv = manage_argv(fw, args, &settings);
	const char *env[] = { fw->pgoptions, NULL };
	memset(&fw->child_opts, 0, sizeof(fw->child_opts));
	manage_opts(fw, &fw->child_opts, &fw->child_errs);
	int rc = spawn_start(argv, fw->pgoptions ? env : NULL, &fw->child_opts, fw->serve,
			     &fw->child, err);
	free(settings);
	free(argv);
	free(code);
	if (rc)
		return not_run(rc, NULL, NULL, err);
	fw->child_ways = ways;
	fw->child_request = fw->request ? xstrdup(fw->request) : NULL;
	fw->child_read = 0;
	return 0;
}

/* The helper's document: its first line (the helper started for it, and
 * not read yet).  Serving, it is left waiting for its word. */
static int helper_read(framework *fw, char **out, dbs_error *err)
{
	if (!spawn_read_line(fw->child, out)) {
		fw->child_read = 1;
		return 0;
	}
	/* it ended (or was stopped) before its document's line ended: why */
	char *text = NULL;
	int exit_code = 0;
	int rc = spawn_finish(fw->child, &text, &exit_code, err);
	fw->child = NULL;
	if (!rc && exit_code != 0)
		rc = failed(err, fw->child_errs, text, "manage.py shell failed (exit %d)",
			    exit_code);
	else if (!rc)
		rc = not_the_document(text, "no whole line", err);
	else
		not_run(rc, text, fw->child_errs, err);
	free(text);
	free(fw->child_errs);
	fw->child_errs = NULL;
	return rc;
}

/* The ways (UP, DOWN) of the SQL in the helper's document. */
static int doc_ways(const json_t *doc)
{
	int ways = 0;
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(doc, "ways"), i, x)
		ways |= json_is_string(x) ? !strcmp(json_string_value(x), "up") ? UP
			: !strcmp(json_string_value(x), "down") ? DOWN : 0 : 0;
	return ways;
}

/* fw->doc, with the SQL of the ways need asks and Django's plan for
 * fw->request: read from the helper under way, else from one started
 * again for what it lacks (a library caller that did not say at first). */
static int load_doc(framework *fw, int need, dbs_error *err)
{
	int have = fw->doc ? doc_ways(fw->doc) : 0;
	if (fw->doc && (have & need) == need && (!fw->request || json_object_get(fw->doc, "plan")))
		return 0;
	need |= have;  /* (what was read stays read) */
	/* the helper under way will do, unless it was told other things */
	int rc = 0;
	if (!fw->child || fw->child_read || (fw->child_ways & need) != need ||
	    (fw->request && (!fw->child_request || strcmp(fw->request, fw->child_request))))
		rc = helper_start(fw, need, err);
	char *out = NULL;
	if (!rc)
		rc = helper_read(fw, &out, err);
	if (rc)
		return rc;
	json_error_t je;
	json_t *doc = json_loads(out, JSON_REJECT_DUPLICATES, &je);
	json_t *ms = json_object_get(doc, "migrations");
	size_t i;
	json_t *e;
	if (!doc)
		rc = not_the_document(out, je.text, err);
	else if (!json_is_array(ms) || !json_is_string(json_object_get(doc, "vendor")))
		rc = not_the_document(out, "no migrations in it", err);
	json_array_foreach(ms, i, e)
		if (!rc && !entry_ok(e))
			rc = not_the_document(out, "a migration without its app, name, SQL or "
					      "dependencies", err);
	if (!rc && (doc_ways(doc) & need) != need)
		rc = not_the_document(out, "not the SQL asked for", err);
	free(out);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	/* the nodes point into the document: to its new entries, in order */
	for (size_t k = 0; k < fw->nnodes; k++) {
		json_t *e2 = json_array_get(json_object_get(doc, "migrations"), k);
		if (!e2 || strcmp(json_string_value(json_object_get(e2, "name")), fw->nodes[k].full) ||
		    strcmp(json_string_value(json_object_get(e2, "app")), fw->nodes[k].app)) {
			json_decref(doc);
			return dbs_fail(err, DBS_EFAIL, "the project's migrations changed while "
					"dbshift read them: run the command again");
		}
		fw->nodes[k].doc = e2;
	}
	json_decref(fw->doc);
	fw->doc = doc;
	return 0;
}

/* One migration of the document into src (and fw's nodes). */
static void add_migration(framework *fw, source *src, json_t *e)
{
	const char *app = json_string_value(json_object_get(e, "app"));
	const char *full = json_string_value(json_object_get(e, "name"));
	migration *m = &src->m[src->n++];
	memset(m, 0, sizeof(*m));
	m->version = xstrdup(full);
	m->name = xstrdup("");
	m->app = xstrdup(app);
	m->format = "django";
	m->path = xprintf("%s.%s", app, full);
	m->up.file = xstrdup(m->path);
	m->down.file = xstrdup(m->path);
	m->up.line = m->down.line = 1;
	m->ordinal = (int)src->n;
	const char *sum = json_string_value(json_object_get(e, "sha256"));
	if (sum && strlen(sum) == 64)  /* its file's: what drift is judged by */
		memcpy(m->checksum, sum, 65);
	dj_node *nd = &fw->nodes[fw->nnodes++];
	*nd = (dj_node){ xstrdup(app), xstrdup(full), NULL, e };
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(e, "dependencies"), i, d) {
		const char *dapp = json_string_value(json_array_get(d, 0));
		const char *dfull = json_string_value(json_array_get(d, 1));
		if (!strcmp(dapp, app) && !nd->parent)
			nd->parent = xstrdup(dfull);
		m->requires = xrealloc(m->requires, (m->nrequires + 1) * sizeof(char *));
		m->requires[m->nrequires++] = xprintf("%s:%s", dapp, dfull);
	}
}

static int dj_list(framework *fw, source *src, dbs_error *err)
{
	int rc = load_doc(fw, fw->ways, err);
	if (rc)
		return rc;
	json_t *ms = json_object_get(fw->doc, "migrations");
	size_t n = json_array_size(ms), i;
	json_t *e;
	memset(src, 0, sizeof(*src));
	src->m = xcalloc(n + 1, sizeof(migration));
	fw->nodes = xcalloc(n + 1, sizeof(dj_node));
	json_array_foreach(ms, i, e)
		add_migration(fw, src, e);
	qsort(src->m, src->n, sizeof(migration), by_app_version);
	return 0;
}

/* The row of app.full in r (app, name, applied, in the order Django
 * wrote them), or -1. */
static long row_of(const db_rows *r, const char *app, const char *full)
{
	for (size_t i = 0; i < r->nrows; i++)
		if (DB_VAL(r, i, 0) && DB_VAL(r, i, 1) && !strcmp(DB_VAL(r, i, 0), app) &&
		    !strcmp(DB_VAL(r, i, 1), full))
			return (long)i;
	return -1;
}

/* Is node nd applied as Django's loader sees it: its row, or (a squashed
 * migration) a row of each migration it replaces?  When, into *at: its
 * row's time, or the newest of theirs. */
static int node_applied(const dj_node *nd, const db_rows *r, const char **at)
{
	const json_t *repl = json_object_get(nd->doc, "replaces");
	long i = row_of(r, nd->app, nd->full), newest = -1;
	size_t k;
	json_t *x;
	*at = i >= 0 ? DB_VAL(r, i, 2) : NULL;
	if (i >= 0 || !json_array_size(repl))
		return i >= 0;
	json_array_foreach(repl, k, x) {
		const char *app = json_string_value(json_array_get(x, 0));
		const char *full = json_string_value(json_array_get(x, 1));
		long j = app && full ? row_of(r, app, full) : -1;
		if (j < 0)
			return 0;
		if (j > newest)
			newest = j;
	}
	*at = DB_VAL(r, newest, 2);
	return 1;
}

/* dbshift's record of the file a migration was applied from: its
 * (app, version, name) is (app, whole name, ""), or, as dbshift wrote it
 * before, the name split after its number. */
static int noted_as(const char *app, const char *full, const char *napp, const char *nver,
		    const char *nname)
{
	size_t vn = strlen(nver);
	if (strcmp(app, napp))
		return 0;
	if (!*nname)
		return !strcmp(full, nver);
	return !strncmp(full, nver, vn) && full[vn] == '_' && !strcmp(full + vn + 1, nname);
}

/*
 * What is applied, as Django's loader sees it: each migration it lists
 * whose row django_migrations has, and each squashed migration whose
 * replaced migrations all have theirs.  Rows of migrations it does not
 * list (an app removed, migrations replaced by a squash) are Django's to
 * ignore, and so are they here.
 */
static int dj_applied(framework *fw, const db_driver *d, db_conn *c, history_row **rows,
		      size_t *n, dbs_error *err)
{
	int exists = 0;
	*rows = NULL;
	*n = 0;
	int rc = db_table_exists(d, c, "django_migrations", &exists, err);
	if (rc || !exists)
		return rc;
	db_rows *r = NULL;
	rc = db_query(d, c, "SELECT app, name, applied FROM django_migrations ORDER BY id", 0,
		      NULL, &r, err);
	if (rc)
		return rc;
	history_row *h = xcalloc(fw->nnodes + 1, sizeof(history_row));
	size_t k = 0;
	for (size_t i = 0; i < fw->nnodes; i++) {
		const char *at = NULL;
		if (!node_applied(&fw->nodes[i], r, &at))
			continue;
		history_row *row = &h[k++];
		row->app = xstrdup(fw->nodes[i].app);
		row->version = xstrdup(fw->nodes[i].full);
		row->name = xstrdup("");
		row->checksum = xstrdup("");
		row->status = xstrdup("applied");
		row->applied_at = rfc3339_dup(at ? at : "");
		row->applied_by = xstrdup("django");
		row->duration_ms = -1;  /* Django keeps none */
	}
	db_rows_free(r);
	*rows = h;
	*n = k;
	/* the SHA-256 of each file dbshift applied, kept in its own table:
	 * an applied file edited since is drifted */
	rc = db_table_exists(d, c, "dbshift_migrations", &exists, err);
	if (rc || !exists)
		return rc;
	rc = db_query(d, c, "SELECT app, version, name, checksum FROM dbshift_migrations "
		      "WHERE status = 'applied'", 0, NULL, &r, err);
	for (size_t i = 0; !rc && i < r->nrows; i++)
		for (size_t j = 0; j < k; j++)
			if (DB_VAL(r, i, 0) && DB_VAL(r, i, 1) && DB_VAL(r, i, 2) && DB_VAL(r, i, 3) &&
			    noted_as(h[j].app, h[j].version, DB_VAL(r, i, 0), DB_VAL(r, i, 1),
				     DB_VAL(r, i, 2))) {
				free(h[j].checksum);
				h[j].checksum = xstrdup(DB_VAL(r, i, 3));
			}
	if (!rc)
		db_rows_free(r);
	return rc;
}

/* Django's words before the operation it cannot write as SQL (3.2 and
 * later), and after it (earlier releases). */
#define OPAQUE_BEFORE "-- MIGRATION NOW PERFORMS OPERATION THAT CANNOT BE WRITTEN AS SQL:"
#define OPAQUE_AFTER "-- THIS OPERATION CANNOT BE WRITTEN AS SQL"

static void add_opaque(section *sec, const char *line, size_t len, int at)
{
	line += 2;
	len -= 2;
	while (len && *line == ' ') {
		line++;
		len--;
	}
	sec->opaque = xrealloc(sec->opaque, (sec->nopaque + 1) * sizeof(*sec->opaque));
	sec->opaque[sec->nopaque].what = xstrndup(line, len);
	/* the helper's words for RunPython.noop */
	sec->opaque[sec->nopaque].noop = !strcmp(sec->opaque[sec->nopaque].what,
						 "RunPython noop (does nothing)");
	sec->opaque[sec->nopaque++].line = at;
}

/* sqlmigrate's text into sec: without the BEGIN; and COMMIT; it wraps an
 * atomic migration in (none: it runs outside a transaction), with what it
 * could not write as SQL noted. */
static void read_sql(section *sec, const char *out)
{
	const char *body = out;
	size_t n = strlen(out);
	sec->no_transaction = 1;
	if (!strncmp(body, "BEGIN;\n", 7)) {
		body += 7;
		n -= 7;
		sec->line = 2;
		sec->no_transaction = 0;
		if (n >= 7 && !strcmp(body + n - 7, "COMMIT;"))
			n -= 7;
	}
	sec->sql = xstrndup(body, n);
	const char *prev = NULL;
	size_t prevlen = 0;
	int line = 1, take_next = 0;
	for (const char *p = sec->sql; *p; line++) {
		size_t len = strcspn(p, "\n");
		if (take_next && len > 2 && !strncmp(p, "--", 2)) {
			add_opaque(sec, p, len, line);
			take_next = 0;
		} else if (len == strlen(OPAQUE_BEFORE) && !strncmp(p, OPAQUE_BEFORE, len)) {
			take_next = 1;
		} else if (len == strlen(OPAQUE_AFTER) && !strncmp(p, OPAQUE_AFTER, len) && prev) {
			add_opaque(sec, prev, prevlen, line - 1);
		}
		if (len > 2 && !strncmp(p, "--", 2)) {
			prev = p;
			prevlen = len;
		}
		p += len + (p[len] == '\n');
	}
}

static int dj_sql(framework *fw, migration *m, int up, dbs_error *err)
{
	section *sec = up ? &m->up : &m->down;
	if (sec->fetched || !node_of(fw, m))
		return 0;
	int rc = load_doc(fw, up ? UP : DOWN, err);
	if (rc)
		return rc;
	const dj_node *nd = node_of(fw, m);
	const char *text = json_string_value(json_object_get(nd->doc, up ? "up" : "down"));
	if (text)
		read_sql(sec, text);
	else if (!up)
		m->irreversible = 1;  /* Django refuses to undo it */
	sec->fetched = 1;
	return 0;
}

/*
 * Which of a non-atomic migration's statements ran before the one that
 * failed: the server quotes the failing one ("LINE 1: SELECT * FROM x ^"
 * in Django's error), and its SQL (sql, as the helper took it) has one
 * statement per line.  How many ran before it (-1: not to be told); in
 * *failing its line, in *ran the lines of the first three that ran (caller
 * frees both).
 */
static int ran_before(const char *sql, const char *message, char **failing, char **ran)
{
	const char *at = message ? strstr(message, "LINE ") : NULL;
	if (!sql || !at)
		return -1;
	at += 5 + strspn(at + 5, "0123456789");
	if (strncmp(at, ": ", 2))
		return -1;
	at += 2;
	const char *end = strstr(at, " ^");
	size_t n = end ? (size_t)(end - at) : strlen(at);
	while (n && at[n - 1] == ' ')
		n--;
	if (n < 4)
		return -1;
	char *quoted = xstrndup(at, n);
	int before = 0, found = -1;
	strbuf sb;
	strbuf_init(&sb);
	for (const char *p = sql; *p && found < 0;) {
		size_t len = strcspn(p, "\n");
		int statement = len && strncmp(p, "--", 2) && strncmp(p, "BEGIN;", 6) &&
				strncmp(p, "COMMIT;", 7);
		if (statement && memmem(p, len, quoted, strlen(quoted))) {
			found = before;
			*failing = xstrndup(p, len);
		} else if (statement && before++ < 3) {
			strbuf_addf(&sb, "%s%.*s", sb.len ? " " : "", (int)len, p);
		}
		p += len + (p[len] == '\n');
	}
	if (before > 3)
		strbuf_addf(&sb, " and %d more", before - 3);
	free(quoted);
	*ran = strbuf_detach(&sb);
	if (found < 0) {
		free(*ran);
		*ran = NULL;
	}
	return found;
}

/* The hint after Django failed on the migration full of app: what stays.
 * A migration with atomic = False has no transaction around it, so what
 * its statements did before the one that failed stays done. */
static void failure_hint(const framework *fw, const char *app, const char *full, int up,
			 dbs_error *err)
{
	const dj_node *nd = node_named(fw, app, full);
	const json_t *e = nd ? nd->doc : NULL;
	char *failing = NULL, *done = NULL;
	int ran = json_is_false(json_object_get(e, "atomic"))
		  ? ran_before(json_string_value(json_object_get(e, up ? "up" : "down")),
			       err->message, &failing, &done) : -1;
	if (ran > 0)
		dbs_error_set_hint(err, "%s.%s is not atomic (atomic = False): Django recorded "
				   "nothing, and the %d statement%s before the one that failed "
				   "('%s') ran and stay%s (%s); finish or undo %s by hand before "
				   "running it again", app, full, ran, ran == 1 ? "" : "s", failing,
				   ran == 1 ? "s" : "", done, ran == 1 ? "it" : "them");
	else if (ran == 0)
		dbs_error_set_hint(err, "%s.%s is not atomic (atomic = False), but it failed on "
				   "its first statement ('%s'): nothing of it ran, and Django "
				   "recorded nothing", app, full, failing);
	else if (json_is_false(json_object_get(e, "atomic")))
		dbs_error_set_hint(err, "%s.%s is not atomic (atomic = False): its changes may be "
				   "partly %s, as far as the statement that failed, and Django "
				   "recorded nothing; compare the database with its SQL ('dbshift "
				   "plan%s') before running it again", app, full,
				   up ? "applied" : "undone", up ? "" : " --rollback");
	else
		dbs_error_set_hint(err, up ? "Django rolled back this migration's transaction; "
				   "what is applied now is what django_migrations says: 'dbshift "
				   "status'" : "the migrations undone before it stay undone");
	free(failing);
	free(done);
}

static int migrate_to(framework *fw, const migration *m, const char *target, int up,
		      dbs_error *err)
{
	const char *args[] = { "migrate", m->app, target, "--noinput", NULL };
	char *out = NULL, *errs = NULL;
	int code = 0, rc = manage(fw, args, &out, &errs, &code, err);
	if (!rc && code != 0) {
		rc = failed(err, errs, out, "Django could not %s %s", up ? "apply" : "undo",
			    m->path);
		const dj_node *nd = node_of(fw, m);
		if (nd)
			failure_hint(fw, nd->app, nd->full, up, err);
	}
	free(out);
	free(errs);
	return rc;
}

static int dj_apply(framework *fw, const migration *m, dbs_error *err)
{
	const dj_node *nd = node_of(fw, m);
	return nd ? migrate_to(fw, m, nd->full, 1, err)
		  : dbs_fail(err, DBS_EFAIL, "Django does not list %s", m->path);
}

static int dj_unapply(framework *fw, const migration *m, dbs_error *err)
{
	const dj_node *nd = node_of(fw, m);
	return nd ? migrate_to(fw, m, nd->parent ? nd->parent : "zero", 0, err)
		  : dbs_fail(err, DBS_EFAIL, "Django does not list %s", m->path);
}

/* ---- the framework's own plan and runs ---- */

static int dj_plan(framework *fw, const char *kind, const char *target, int steps,
		   const fw_step **out, size_t *n, dbs_error *err)
{
	char *want = plan_request(kind, target, steps);
	if (!fw->request || strcmp(fw->request, want)) {
		/* not what the command said it would ask: the helper again */
		free(fw->request);
		fw->request = want;
		want = NULL;
		json_object_del(fw->doc, "plan");
	}
	free(want);
	int rc = load_doc(fw, fw->ways, err);
	if (rc)
		return rc;
	const json_t *plan = json_object_get(fw->doc, "plan");
	const char *why = json_string_value(json_object_get(plan, "error"));
	if (why) {
		dbs_fail(err, DBS_EINPUT, "%s", why);
		dbs_error_set_hint(err, "name a migration as Django does: APP:NAME (a prefix of "
				   "its name will do, as for manage.py migrate), APP:zero or zero");
		return DBS_EINPUT;
	}
	const json_t *list = json_object_get(plan, "steps");
	if (!json_is_array(list) || !json_is_array(json_object_get(plan, "runs")))
		return dbs_fail(err, DBS_EFAIL, "manage.py shell did not print Django's plan");
	for (size_t i = 0; i < fw->nsteps; i++)
		free(fw->steps[i].path);
	fw->nsteps = 0;
	fw->steps = xrealloc(fw->steps, (json_array_size(list) + 1) * sizeof(fw_step));
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		const char *app = json_string_value(json_array_get(x, 0));
		const char *full = json_string_value(json_array_get(x, 1));
		if (!app || !full)
			return dbs_fail(err, DBS_EFAIL, "manage.py shell printed a plan step "
					"without its migration");
		fw->steps[fw->nsteps++] = (fw_step){ xprintf("%s.%s", app, full),
						     !json_is_true(json_array_get(x, 2)) };
	}
	*out = fw->steps;
	*n = fw->nsteps;
	return 0;
}

/*
 * A manage.py migrate prints "  Applying shop.0001_initial..." (or
 * "Unapplying") as a migration starts and " OK" once it is done (recorded
 * in django_migrations); each is told to progress as its words come.
 * Other lines (a project's own migrate command may print more) are
 * Django's or the project's, not progress.
 */
typedef struct migrate_watch {
	void (*progress)(void *data, const char *path, int up, int done);
	void *data;
	strbuf line;         /* the line being printed */
	char *running;       /* the migration started, not yet done */
	int up;              /* its direction */
} migrate_watch;

static void watch_line(migrate_watch *w, int ended)
{
	const char *l = w->line.buf + strspn(w->line.buf, " ");
	int up = !strncmp(l, "Applying ", 9);
	size_t skip = up ? 9 : !strncmp(l, "Unapplying ", 11) ? 11 : 0, n = strlen(l);
	if (!w->running && skip && n > skip + 3 && !strcmp(l + n - 3, "...")) {
		w->running = xstrndup(l + skip, n - skip - 3);
		w->up = up;
		w->progress(w->data, w->running, up, 0);
	} else if (w->running && ended && skip && strstr(l, "... OK")) {
		w->progress(w->data, w->running, w->up, 1);
		free(w->running);
		w->running = NULL;
	}
}

static int watch_out(void *data, const void *buf, size_t n)
{
	migrate_watch *w = data;
	const char *p = buf;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			watch_line(w, 1);
			strbuf_reset(&w->line);
		} else if (w->line.len < 4096) {
			strbuf_add(&w->line, p + i, 1);
			if (p[i] == '.')  /* "Applying x..." is printed, flushed, before it runs */
				watch_line(w, 0);
		}
	}
	return 0;
}

/* One manage.py migrate [APP TARGET], watched. */
static int migrate_run(framework *fw, const char *app, const char *target, migrate_watch *w,
		       dbs_error *err)
{
	const char *args[] = { "migrate", "--noinput", app, target, NULL };
	spawn_opts so = { .out_sink = watch_out, .sink_data = w };
	char *out = NULL, *errs = NULL;
	strbuf_reset(&w->line);
	int code = 0, rc;
	if (fw->serve && fw->child && fw->child_read) {  /* the helper that read it runs it */
		spawn_child *c = fw->child;
		char *word = xprintf("migrate%s%s%s%s\n", app ? " " : "", app ? app : "",
				     target ? " " : "", target ? target : "");
		fw->child = NULL;
		fw->child_opts.out_sink = watch_out;
		fw->child_opts.sink_data = w;
		spawn_say(c, word);  /* (if it is gone, spawn_finish says why) */
		free(word);
		rc = spawn_finish(c, &out, &code, err);
		errs = fw->child_errs;
		fw->child_errs = NULL;
		free(fw->child_request);
		fw->child_request = NULL;
		not_run(rc, out, errs, err);
	} else {
		rc = manage_with(fw, args, &so, &out, &errs, &code, err);
	}
	if (!rc && code != 0 && w->running) {
		rc = failed(err, errs, w->line.buf, "Django could not %s %s", w->up ? "apply"
			    : "undo", w->running);
		char *dot = strchr(w->running, '.');
		if (dot) {
			*dot = '\0';
			failure_hint(fw, w->running, dot + 1, w->up, err);
			*dot = '.';
		}
	} else if (!rc && code != 0) {
		rc = failed(err, errs, w->line.buf, "manage.py migrate failed");
		dbs_error_set_hint(err, "what Django applied or undid is recorded in "
				   "django_migrations: 'dbshift status' says what is applied now");
	}
	free(out);
	free(errs);
	return rc;
}

static int dj_run(framework *fw, int planned,
		  void (*progress)(void *data, const char *path, int up, int done), void *data,
		  dbs_error *err)
{
	migrate_watch w = { progress, data, { 0 }, NULL, 1 };
	strbuf_init(&w.line);
	const json_t *runs = planned ? json_object_get(json_object_get(fw->doc, "plan"), "runs")
				     : NULL;
	int rc = 0;
	if (!planned)
		rc = migrate_run(fw, NULL, NULL, &w, err);
	for (size_t i = 0; !rc && i < json_array_size(runs); i++) {
		const json_t *r = json_array_get(runs, i);
		const char *app = json_string_value(json_array_get(r, 0));
		const char *target = json_string_value(json_array_get(r, 1));
		rc = app && target ? migrate_run(fw, app, target, &w, err)
				   : dbs_fail(err, DBS_EFAIL, "manage.py shell printed a plan "
					      "without its migrate commands");
	}
	free(w.running);
	strbuf_release(&w.line);
	return rc;
}

/* The database of Django's default connection, as db_identity writes it
 * (the helper's "identity"). */
static int dj_identity(framework *fw, char **identity, dbs_error *err)
{
	int rc = load_doc(fw, fw->ways, err);
	if (rc)
		return rc;
	const char *id = json_string_value(json_object_get(fw->doc, "identity"));
	if (!id)
		return dbs_fail(err, DBS_EFAIL, "manage.py shell did not say which database "
				"Django's settings point at");
	*identity = xstrdup(id);
	return 0;
}

const framework_ops framework_django = {
	.name = "django",
	.open = dj_open,
	.close = dj_close,
	.list = dj_list,
	.applied = dj_applied,
	.sql = dj_sql,
	.apply = dj_apply,
	.unapply = dj_unapply,
	.plan = dj_plan,
	.run = dj_run,
	.identity = dj_identity,
};
