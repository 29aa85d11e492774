/*
 * django.c - a Django project's own migrations, through its manage.py:
 * `showmigrations --plan --verbosity 2` gives the order and what each
 * migration depends on, Django's django_migrations table what is applied
 * (and when), `sqlmigrate APP NAME [--backwards]` the SQL, and
 * `migrate APP NAME` applies one (undone with `migrate APP PREVIOUS`, or
 * `zero`), so RunPython, atomic = False and state operations keep Django's
 * meaning.  Each command is an argv (the manage setting, no shell) with a
 * timeout (manage_timeout), its stderr kept apart for the error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framework/framework.h"

typedef struct dj_node {
	char *app, *full;    /* "shop", "0002_item_note" */
	char *parent;        /* the migration of its app it follows, or NULL */
} dj_node;

struct framework {
	char **manage;       /* argv words */
	size_t nmanage;
	char *settings;      /* --settings, or NULL */
	int timeout_ms;
	dj_node *nodes;      /* from list */
	size_t nnodes;
};

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
	fw->timeout_ms = o->manage_timeout_ms > 0 ? o->manage_timeout_ms : 3600000;
	*out = fw;
	return 0;
}

static void dj_close(framework *fw)
{
	if (!fw)
		return;
	free_words(fw->manage);
	free(fw->settings);
	for (size_t i = 0; i < fw->nnodes; i++) {
		free(fw->nodes[i].app);
		free(fw->nodes[i].full);
		free(fw->nodes[i].parent);
	}
	free(fw->nodes);
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

/* Run manage.py with args; its stdout and stderr, and exit code. */
static int manage(framework *fw, const char *const *args, char **out, char **errs, int *code,
		  dbs_error *err)
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
	char *settings = fw->settings ? xprintf("--settings=%s", fw->settings) : NULL;
	if (settings)
		argv[k++] = settings;
	argv[k] = NULL;
	*out = *errs = NULL;
	*code = -1;
	/* what Django prints of a project is far less than 64 MB: more is no
	 * output of Django's */
	spawn_opts so = { .timeout_ms = fw->timeout_ms, .err_text = errs, .max_out = 64 << 20 };
	int rc = spawn_full(argv, NULL, &so, out, code, err);
	if (rc && !*out)
		dbs_error_set_hint(err, "set manage in dbshift.conf to the words that run the "
				   "project's manage.py, e.g. manage = /usr/bin/python3 manage.py");
	else if (rc && *errs && **errs)
		dbs_error_set_detail(err, "%s", *errs);
	free(settings);
	free(argv);
	return rc;
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
	free(last);
	last = last_lines(why, 12);
	const char *frame = strstr(last, "  File \"");  /* from a whole frame */
	dbs_error_set_detail(err, "%s", frame ? frame : last);
	free(last);
	return DBS_EFAIL;
}

/* Run manage.py args, which must succeed; its stdout (caller frees). */
static int manage_ok(framework *fw, const char *const *args, char **out, dbs_error *err)
{
	char *errs = NULL;
	int code = 0, rc = manage(fw, args, out, &errs, &code, err);
	if (!rc && code != 0)
		rc = failed(err, errs, *out, "manage.py %s failed (exit %d)", args[0], code);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	free(errs);
	return rc;
}

/* ---- names ---- */

/* "0002_item_note": version "0002", name "item_note"; -1 when it does not
 * start with a number. */
static int split_name(const char *full, char **version, char **name)
{
	size_t d = strspn(full, "0123456789");
	if (!d || (full[d] && full[d] != '_'))
		return -1;
	*version = xstrndup(full, d);
	*name = xstrdup(full[d] ? full + d + 1 : "");
	return 0;
}

/* m's node: its full name is version, '_' and name (of any length). */
static const dj_node *node_of(const framework *fw, const migration *m)
{
	size_t vn = strlen(m->version);
	for (size_t i = 0; i < fw->nnodes; i++) {
		const char *full = fw->nodes[i].full;
		if (strcmp(fw->nodes[i].app, m->app) || strncmp(full, m->version, vn))
			continue;
		if (*m->name ? full[vn] == '_' && !strcmp(full + vn + 1, m->name) : !full[vn])
			return &fw->nodes[i];
	}
	return NULL;
}

static int by_app_version(const void *a, const void *b)
{
	const migration *x = a, *y = b;
	int c = strcmp(x->app, y->app);
	return c ? c : migration_version_cmp(x, y);
}

/* ---- the interface ---- */

/* One line of the plan: "[X]  app.name ... (dep.a, dep.b)". */
static int plan_line(framework *fw, source *src, const char *line, dbs_error *err)
{
	const char *key = line + 5, *deps = strstr(key, " ... (");
	char *k = xstrndup(key, deps ? (size_t)(deps - key) : strlen(key));
	char *dot = strchr(k, '.');
	if (!dot) {
		free(k);
		return 0;
	}
	*dot = '\0';
	migration *m = &src->m[src->n];
	memset(m, 0, sizeof(*m));
	if (split_name(dot + 1, &m->version, &m->name)) {
		dbs_fail(err, DBS_EINPUT, "not implemented: the Django migration %s.%s does not "
			 "start with a number", k, dot + 1);
		dbs_error_set_hint(err, "dbshift orders each app's migrations by the numbers "
				   "makemigrations gives them (0001_initial)");
		free(k);
		return DBS_EINPUT;
	}
	src->n++;
	m->app = xstrdup(k);
	m->format = "django";
	m->path = xprintf("%s.%s", k, dot + 1);
	m->up.file = xstrdup(m->path);
	m->down.file = xstrdup(m->path);
	m->up.line = m->down.line = 1;
	m->ordinal = (int)src->n;
	dj_node *nd = &fw->nodes[fw->nnodes++];
	*nd = (dj_node){ xstrdup(k), xstrdup(dot + 1), NULL };
	if (deps) {
		char *list = xstrdup(deps + 6);
		char *close = strrchr(list, ')');
		if (close)
			*close = '\0';
		for (char *save = NULL, *d = strtok_r(list, ", ", &save); d;
		     d = strtok_r(NULL, ", ", &save)) {
			char *ddot = strchr(d, '.'), *v = NULL, *n = NULL;
			if (!ddot)
				continue;
			*ddot = '\0';
			if (split_name(ddot + 1, &v, &n))
				continue;  /* it cannot be among the listed migrations either */
			if (!strcmp(d, k) && !nd->parent)
				nd->parent = xstrdup(ddot + 1);
			m->requires = xrealloc(m->requires, (m->nrequires + 1) * sizeof(char *));
			m->requires[m->nrequires++] = xprintf("%s:%s", d, v);
			free(v);
			free(n);
		}
		free(list);
	}
	free(k);
	return 0;
}

static int dj_list(framework *fw, source *src, dbs_error *err)
{
	const char *args[] = { "showmigrations", "--plan", "--verbosity", "2", NULL };
	char *out = NULL;
	int rc = manage_ok(fw, args, &out, err);
	if (rc)
		return rc;
	size_t lines = 1;
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	memset(src, 0, sizeof(*src));
	src->m = xcalloc(lines, sizeof(migration));
	fw->nodes = xcalloc(lines, sizeof(dj_node));
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l && !rc;
	     l = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(l, "[X]  ", 5) || !strncmp(l, "[ ]  ", 5)) {
			rc = plan_line(fw, src, l, err);
		} else if (l[strspn(l, " \t\r")] && strcmp(l, "(no migrations)")) {
			/* not the plan: what printed it is not Django's showmigrations
			 * (shown printable, and short) */
			char shown[81];
			size_t k = 0;
			for (; l[k] && k < 80; k++)
				shown[k] = (unsigned char)l[k] < 0x20 || (unsigned char)l[k] > 0x7e
					   ? '?' : l[k];
			shown[k] = '\0';
			rc = dbs_fail(err, DBS_EFAIL, "manage.py showmigrations printed a line "
				      "that is not part of its plan: '%s%s'", shown,
				      l[k] ? "..." : "");
			dbs_error_set_hint(err, "check that manage in dbshift.conf runs the "
					   "project's manage.py, and that nothing else prints to "
					   "its standard output");
		}
	}
	free(out);
	if (rc)
		return rc;
	qsort(src->m, src->n, sizeof(migration), by_app_version);
	for (size_t i = 1; i < src->n; i++)
		if (!strcmp(src->m[i].app, src->m[i - 1].app) &&
		    !migration_version_cmp(&src->m[i], &src->m[i - 1])) {
			dbs_fail(err, DBS_EINPUT, "not implemented: two migrations of app %s are "
				 "numbered %s (%s and %s)", src->m[i].app, src->m[i].version,
				 src->m[i - 1].path, src->m[i].path);
			dbs_error_set_hint(err, "dbshift orders each app's migrations by their "
					   "numbers; renumber one of them (or squash them)");
			return DBS_EINPUT;
		}
	return 0;
}

static int dj_applied(framework *fw, const db_driver *d, db_conn *c, history_row **rows,
		      size_t *n, dbs_error *err)
{
	(void)fw;
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
	history_row *h = xcalloc(r->nrows + 1, sizeof(history_row));
	size_t k = 0;
	for (size_t i = 0; i < r->nrows; i++) {
		const char *app = DB_VAL(r, i, 0), *full = DB_VAL(r, i, 1);
		if (!app || !full)
			continue;
		history_row *row = &h[k++];
		if (split_name(full, &row->version, &row->name)) {
			row->version = xstrdup(full);
			row->name = xstrdup("");
		}
		row->app = xstrdup(app);
		row->checksum = xstrdup("");
		row->status = xstrdup("applied");
		row->applied_at = rfc3339_dup(DB_VAL(r, i, 2) ? DB_VAL(r, i, 2) : "");
		row->applied_by = xstrdup("django");
		row->duration_ms = -1;  /* Django keeps none */
	}
	db_rows_free(r);
	*rows = h;
	*n = k;
	return 0;
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
	const dj_node *nd = node_of(fw, m);
	if (sec->fetched || !nd)
		return 0;
	const char *args[] = { "sqlmigrate", nd->app, nd->full, up ? NULL : "--backwards",
			       NULL };
	char *out = NULL, *errs = NULL;
	int code = 0, rc = manage(fw, args, &out, &errs, &code, err);
	if (!rc && code != 0 && !up && errs && strstr(errs, "IrreversibleError")) {
		m->irreversible = 1;  /* Django refuses to undo it */
	} else if (!rc && code != 0) {
		rc = failed(err, errs, out, "manage.py sqlmigrate %s %s failed (exit %d)", nd->app,
			    nd->full, code);
	} else if (!rc) {
		read_sql(sec, out);
	}
	sec->fetched = !rc;
	free(out);
	free(errs);
	return rc;
}

/* migrate APP TARGET; Django's error (its traceback's last line, and the
 * lines before it in the detail) when it fails. */
static int migrate_to(framework *fw, const migration *m, const char *target, int up,
		      dbs_error *err)
{
	const char *args[] = { "migrate", m->app, target, "--noinput", NULL };
	char *out = NULL, *errs = NULL;
	int code = 0, rc = manage(fw, args, &out, &errs, &code, err);
	if (!rc && code != 0) {
		rc = failed(err, errs, out, "Django could not %s %s", up ? "apply" : "undo",
			    m->path);
		dbs_error_set_hint(err, up ? "Django rolled back what it could of this migration "
				   "(an atomic one entirely); the ones before it stay applied"
				   : "the migrations undone before it stay undone");
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

/* Python run by `manage.py shell -c`: the database of Django's default
 * connection, as db_identity writes it. */
static const char identity_py[] =
	"from django.db import connection as c\n"
	"import os\n"
	"if c.vendor == 'postgresql':\n"
	"    k = c.cursor()\n"
	"    k.execute(\"SELECT 'postgres:' || system_identifier || '/' || current_database() "
	"FROM pg_control_system()\")\n"
	"    print(k.fetchone()[0])\n"
	"elif c.vendor == 'sqlite':\n"
	"    print('sqlite:' + os.path.realpath(str(c.settings_dict['NAME'])))\n"
	"else:\n"
	"    print(c.vendor + ':')\n";

static int dj_identity(framework *fw, char **identity, dbs_error *err)
{
	const char *args[] = { "shell", "--command", identity_py, NULL };
	char *out = NULL;
	int rc = manage_ok(fw, args, &out, err);
	if (!rc) {
		*identity = last_lines(out, 1);
		free(out);
	}
	return rc;
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
	.identity = dj_identity,
};
