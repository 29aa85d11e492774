/*
 * sqlite_check.c - the SQLite driver's preflight: the scripts of a plan
 * checked before anything runs, against an in-memory copy of the schema.
 *
 * Each statement is prepared there in plan order (syntax, tables,
 * columns), and what changes the schema is run there, so the next
 * statement sees it.  What is copied and what is run follows the names
 * the scripts use, so the cost follows the migrations, not the database:
 *
 * - Only the objects a script names are copied from the database, with
 *   what they need: a table's indexes and triggers (an UPSERT needs the
 *   one, an INSERT compiles the other), and everything named in the SQL of
 *   what is copied (a view's tables, a trigger's, a foreign key's parent).
 *   A statement can only reach another object through one of those.
 *   ALTER TABLE re-checks every view and trigger of the schema, so a plan
 *   with an ALTER copies them all; a plan that names SQLite's own tables
 *   (sqlite_master, sqlite_sequence...) copies everything, as that is not
 *   certain.
 * - A CREATE of the plan is prepared where it stands but run in the copy
 *   only when a later statement names what it made (or changes what it
 *   uses, or is an ALTER): 1,000 new tables nobody mentions again are
 *   never built twice.
 *
 * If the schema cannot be copied, only the shape of the text is checked.
 */
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "driver/driver.h"
#include "driver/sqlite_check.h"

/* ---- names: a word, a quoted name or a string of SQL, lower case ---- */

typedef struct names {
	char **v;
	size_t n, alloc;
} names;

static void names_add(names *ns, const char *s, size_t n)
{
	if (ns->n == ns->alloc) {
		ns->alloc = ns->alloc ? 2 * ns->alloc : 16;
		ns->v = xrealloc(ns->v, ns->alloc * sizeof(*ns->v));
	}
	char *w = xstrndup(s, n);
	for (char *q = w; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');  /* SQLite folds ASCII only */
	ns->v[ns->n++] = w;
}

static void names_free(names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

/*
 * Every word, quoted name ("x", `x`, [x]) and string ('x': SQLite takes
 * one for a name in places, and pragma_table_info('t') names a table) of
 * sql[0..len), comments left out: a superset of the names a statement
 * uses.
 */
static void words_of(const char *sql, size_t len, names *out)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)sql[i];
		if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
			while (i < len && sql[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < len && sql[i + 1] == '*') {
			const char *end = memmem(sql + i + 2, len - i - 2, "*/", 2);
			i = end ? (size_t)(end - sql) + 2 : len;
		} else if (c == '\'' || c == '"' || c == '`' || c == '[') {
			char close = c == '[' ? ']' : (char)c;
			size_t j = i + 1;
			while (j < len && (sql[j] != close || (close != ']' && j + 1 < len &&
								 sql[j + 1] == close && ++j)))
				j++;
			names_add(out, sql + i + 1, (j < len ? j : len) - i - 1);
			i = j + 1;
		} else if (is_word_byte(c)) {
			size_t j = i;
			while (j < len && is_word_byte((unsigned char)sql[j]))
				j++;
			names_add(out, sql + i, j - i);
			i = j;
		} else {
			i++;
		}
	}
}

/* ---- names as keys (a hash table; the keys stay their owner's) ---- */

typedef struct strmap {
	const char **key;   /* open addressing, cap a power of two */
	void **val;
	size_t cap, used;
} strmap;

static size_t strmap_slot(const strmap *m, const char *k)
{
	size_t i = (size_t)fnv1a(k) & (m->cap - 1);
	while (m->key[i] && strcmp(m->key[i], k))
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* k's value, or NULL when k is not there. */
static void **strmap_get(const strmap *m, const char *k)
{
	if (!m->cap)
		return NULL;
	size_t i = strmap_slot(m, k);
	return m->key[i] ? &m->val[i] : NULL;
}

/* k's value, a new one (NULL) when k was not there: *added says so. */
static void **strmap_put(strmap *m, const char *k, int *added)
{
	void **v = strmap_get(m, k);
	*added = !v;
	if (v)
		return v;
	if ((m->used + 1) * 10 >= m->cap * 7) {  /* grow: at most 70% full */
		strmap old = *m;
		m->cap = old.cap ? 2 * old.cap : 64;
		m->key = xcalloc(m->cap, sizeof(*m->key));
		m->val = xcalloc(m->cap, sizeof(*m->val));
		for (size_t i = 0; i < old.cap; i++)
			if (old.key[i]) {
				size_t j = strmap_slot(m, old.key[i]);
				m->key[j] = old.key[i];
				m->val[j] = old.val[i];
			}
		free(old.key);
		free(old.val);
	}
	size_t i = strmap_slot(m, k);
	m->key[i] = k;
	m->used++;
	return &m->val[i];
}

static void strmap_free(strmap *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

/* A name and the numbers of what holds it. */
typedef struct ref {
	char *name;    /* the key */
	int *ids;
	size_t n, alloc;
} ref;

static ref *ref_find(const strmap *m, const char *name)
{
	void **v = strmap_get(m, name);
	return v ? *v : NULL;
}

static void ref_add(strmap *m, const char *name, int id)
{
	ref *r = ref_find(m, name);
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->name = xstrdup(name);
		int added;
		*strmap_put(m, r->name, &added) = r;
	}
	if (r->n && r->ids[r->n - 1] == id)
		return;
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? 2 * r->alloc : 4;
		r->ids = xrealloc(r->ids, r->alloc * sizeof(*r->ids));
	}
	r->ids[r->n++] = id;
}

static void refmap_free(strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->key[i]) {
			ref *r = m->val[i];
			free(r->name);
			free(r->ids);
			free(r);
		}
	strmap_free(m);
}

/* ---- the checker ---- */

/* A CREATE of the plan, prepared but not yet run in the copy. */
typedef struct pending {
	char *sql;
	names made;   /* what it makes, and the table of an index or trigger */
	names uses;   /* every word of it */
	int done;
} pending;

struct sq_checker {
	sqlite3 *db;
	int schema_ok;
	int defer;          /* CREATEs wait until something needs them */
	int budget;         /* thousands of VM steps the current statement took */
	pending *pend;
	size_t npend, apend;
	strmap by_made;     /* name -> pending that make it (a ref) */
	strmap by_use;      /* name -> pending that use it */
	names auth;         /* what the statement being prepared makes or changes */
	names words;        /* and its words (when CREATEs wait) */
	int auth_create, auth_alter;
};

static int over_budget(void *arg)
{
	sq_checker *k = arg;
	return ++k->budget > 1000;  /* about a million steps */
}

/* Run a prepared statement that changes the schema in the copy.  CREATE
 * TABLE ... AS SELECT may compute a lot even on empty tables: past a
 * budget, stop and check the rest by text. */
static void run_in_copy(sq_checker *k, sqlite3_stmt *st)
{
	k->budget = 0;
	sqlite3_progress_handler(k->db, 1000, over_budget, k);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_progress_handler(k->db, 0, NULL, NULL);
	if (rc == SQLITE_INTERRUPT)
		k->schema_ok = 0;
}

/* Run pending CREATE i in the copy, after the earlier ones that make what
 * it uses. */
static void replay(sq_checker *k, size_t i)
{
	pending *p = &k->pend[i];
	if (p->done || !k->schema_ok)
		return;
	p->done = 1;
	for (size_t u = 0; u < p->uses.n; u++) {
		ref *r = ref_find(&k->by_made, p->uses.v[u]);
		for (size_t j = 0; r && j < r->n && (size_t)r->ids[j] < i; j++)
			replay(k, (size_t)r->ids[j]);
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(k->db, p->sql, -1, &st, NULL) != SQLITE_OK || !st)
		k->schema_ok = 0;  /* it prepared where it stood: not certain now */
	else
		run_in_copy(k, st);
	sqlite3_finalize(st);
}

/* Run the pending CREATEs that the map m ties to one of ns. */
static void replay_tied(sq_checker *k, const strmap *m, const names *ns)
{
	for (size_t i = 0; i < ns->n; i++) {
		ref *r = ref_find(m, ns->v[i]);
		for (size_t j = 0; r && j < r->n; j++)
			replay(k, (size_t)r->ids[j]);
	}
}

static void replay_all(sq_checker *k)
{
	for (size_t i = 0; i < k->npend; i++)
		replay(k, i);
}

static void defer(sq_checker *k, const char *sql, size_t len, names *uses)
{
	if (k->npend == k->apend) {
		k->apend = k->apend ? 2 * k->apend : 64;
		k->pend = xrealloc(k->pend, k->apend * sizeof(*k->pend));
	}
	int id = (int)k->npend;
	pending *p = &k->pend[k->npend++];
	memset(p, 0, sizeof(*p));
	p->sql = xstrndup(sql, len);
	p->made = k->auth;
	memset(&k->auth, 0, sizeof(k->auth));
	p->uses = *uses;
	memset(uses, 0, sizeof(*uses));
	for (size_t i = 0; i < p->made.n; i++)
		ref_add(&k->by_made, p->made.v[i], id);
	for (size_t i = 0; i < p->uses.n; i++)
		ref_add(&k->by_use, p->uses.v[i], id);
}

/* The authorizer, while a statement of the plan is prepared: what it
 * makes, drops or alters. */
static int authorize(void *arg, int action, const char *a1, const char *a2, const char *db,
		     const char *trigger)
{
	(void)db;
	(void)trigger;
	sq_checker *k = arg;
	switch (action) {
	case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TRIGGER: case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_VIEW: case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_CREATE_VTABLE:
		k->auth_create = 1;
		/* fall through */
	case SQLITE_DROP_INDEX: case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_DROP_TRIGGER: case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_TABLE: case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_VIEW: case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_VTABLE:
		if (a1)
			names_add(&k->auth, a1, strlen(a1));
		if (a2 && action != SQLITE_CREATE_VTABLE && action != SQLITE_DROP_VTABLE)
			names_add(&k->auth, a2, strlen(a2));  /* an index's or trigger's table */
		break;
	case SQLITE_ALTER_TABLE:
		k->auth_alter = 1;
		break;
	default:
		break;
	}
	return SQLITE_OK;
}

/* ---- the copy of the schema ---- */

/* Add the words of ns to the set w (they stay owned by ns); 1 when one
 * was not there. */
static int words_join(strmap *w, const names *ns, size_t from)
{
	int grew = 0;
	for (size_t i = from; i < ns->n; i++) {
		int added;
		strmap_put(w, ns->v[i], &added);
		grew |= added;
	}
	return grew;
}

/* Is name, case folded, in the set w?  (A name of SQLite's own is never.) */
static int in_words(const strmap *w, const unsigned char *name)
{
	char buf[128], *folded = buf;
	size_t n = strlen((const char *)name);
	if (!strncasecmp((const char *)name, "sqlite_", 7))
		return 0;
	if (n >= sizeof(buf))
		folded = xmalloc(n + 1);
	for (size_t i = 0; i <= n; i++)
		folded[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	int in = strmap_get(w, folded) != NULL;
	if (folded != buf)
		free(folded);
	return in;
}

typedef struct object {
	sqlite3_int64 rowid;
	int later;      /* not a table: made after the tables */
	char *sql;
} object;

static int rowid_cmp(const void *a, const void *b)
{
	sqlite3_int64 x = *(const sqlite3_int64 *)a, y = *(const sqlite3_int64 *)b;
	return x < y ? -1 : x > y;
}

static int object_cmp(const void *a, const void *b)
{
	const object *x = a, *y = b;
	if (x->later != y->later)
		return x->later - y->later;
	return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

/*
 * Copy into k->db what the scripts can reach of db's schema: the objects
 * named by a word of the plan or of what is taken, with their indexes and
 * triggers (their table's name is such a word), in rounds until a round
 * finds no new word; then all of them, tables first, as SQLite lists them.
 * Each round reads the schema table once and keeps only what it takes.
 */
static void copy_schema(sq_checker *k, sqlite3 *db, const char *const *scripts, size_t n)
{
	names words = { 0 };
	int own = 0, alter = 0;
	for (size_t i = 0; i < n; i++)
		words_of(scripts[i], strlen(scripts[i]), &words);
	for (size_t i = 0; i < words.n; i++) {
		own |= !strncmp(words.v[i], "sqlite_", 7);
		alter |= !strcmp(words.v[i], "alter");
	}
	k->defer = !own;  /* SQLite's own tables: everything, run in order */
	strmap w = { 0 };  /* the words, the names list's */
	words_join(&w, &words, 0);
	object *obj = NULL;
	size_t nobj = 0, alloc = 0;
	void *taken = NULL;  /* rowid -> taken */
	sqlite3_stmt *st = NULL, *get = NULL;
	if (sqlite3_prepare_v2(db, "SELECT rowid, name, tbl_name, type FROM sqlite_master "
			       "WHERE sql IS NOT NULL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE rowid = ?", -1, &get,
			       NULL) != SQLITE_OK)
		k->schema_ok = 0;
	for (int grew = 1; k->schema_ok && grew;) {
		grew = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			sqlite3_int64 rowid = sqlite3_column_int64(st, 0);
			if (tfind(&rowid, &taken, rowid_cmp))
				continue;
			const char *type = (const char *)sqlite3_column_text(st, 3);
			const unsigned char *name = sqlite3_column_text(st, 1);
			int later = strcmp(type, "table") != 0;
			if (!strncasecmp((const char *)name, "sqlite_", 7))
				continue;  /* SQLite makes its own */
			if (!own && !(alter && (!strcmp(type, "view") || !strcmp(type, "trigger"))) &&
			    !in_words(&w, name) && !in_words(&w, sqlite3_column_text(st, 2)))
				continue;
			sqlite3_bind_int64(get, 1, rowid);
			if (sqlite3_step(get) != SQLITE_ROW) {
				sqlite3_reset(get);
				k->schema_ok = 0;
				break;
			}
			if (nobj == alloc) {
				alloc = alloc ? 2 * alloc : 16;
				obj = xrealloc(obj, alloc * sizeof(*obj));
			}
			object *o = &obj[nobj++];
			o->rowid = rowid;
			o->later = later;
			o->sql = xstrdup((const char *)sqlite3_column_text(get, 0));
			sqlite3_reset(get);
			size_t from = words.n;
			words_of(o->sql, strlen(o->sql), &words);
			grew |= words_join(&w, &words, from);
			/* obj moves as it grows: the set keeps rowids of its own */
			sqlite3_int64 *id = xmalloc(sizeof(*id));
			*id = rowid;
			tsearch(id, &taken, rowid_cmp);
		}
		sqlite3_reset(st);
		grew &= !own;  /* everything was taken in one round */
	}
	sqlite3_finalize(st);
	sqlite3_finalize(get);
	tdestroy(taken, free);
	strmap_free(&w);
	names_free(&words);
	if (nobj)
		qsort(obj, nobj, sizeof(*obj), object_cmp);
	for (size_t i = 0; i < nobj; i++) {
		if (k->schema_ok && sqlite3_exec(k->db, obj[i].sql, NULL, NULL, NULL) != SQLITE_OK)
			k->schema_ok = 0;
		free(obj[i].sql);
	}
	free(obj);
}

int sqlite_check_begin(sqlite3 *db, const char *const *scripts, size_t n, sq_checker **out,
		       dbs_error *err)
{
	sq_checker *k = xcalloc(1, sizeof(*k));
	if (sqlite3_open_v2(":memory:", &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		dbs_fail(err, DBS_EFAIL, "cannot open an in-memory SQLite database: %s",
			 k->db ? sqlite3_errmsg(k->db) : "out of memory");
		sqlite3_close(k->db);
		free(k);
		return DBS_EFAIL;
	}
	k->schema_ok = 1;
	copy_schema(k, db, scripts, n);
	/* one transaction for the whole replay: no commit after each change */
	if (k->schema_ok)
		sqlite3_exec(k->db, "BEGIN", NULL, NULL, NULL);
	*out = k;
	return 0;
}

void sqlite_check_end(sq_checker *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->npend; i++) {
		free(k->pend[i].sql);
		names_free(&k->pend[i].made);
		names_free(&k->pend[i].uses);
	}
	free(k->pend);
	refmap_free(&k->by_made);
	refmap_free(&k->by_use);
	names_free(&k->auth);
	names_free(&k->words);
	sqlite3_close(k->db);
	free(k);
}

/* Offset in sql[0..n) of a comment or string that never ends, or n. */
static size_t unterminated_at(const char *sql, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sql[i] == '-' && i + 1 < n && sql[i + 1] == '-') {
			while (i < n && sql[i] != '\n')
				i++;
		} else if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
			const char *end = memmem(sql + i + 2, n - i - 2, "*/", 2);
			if (!end)
				return i;
			i = (size_t)(end - sql) + 1;
		} else if (sql[i] == '\'' || sql[i] == '"' || sql[i] == '`' || sql[i] == '[') {
			char close = sql[i] == '[' ? ']' : sql[i];
			const char *end = memchr(sql + i + 1, close, n - i - 1);
			if (!end)
				return i;
			i = (size_t)(end - sql);
		}
	}
	return n;
}

/* Does this statement change the schema (and nothing outside the file)? */
static int changes_schema(const char *sql)
{
	sql += sql_skip_space(sql, strlen(sql));
	return !strncasecmp(sql, "CREATE", 6) || !strncasecmp(sql, "ALTER", 5) ||
	       !strncasecmp(sql, "DROP", 4);
}

/* The end of the statement at p, by its text alone (no schema to prepare
 * it against). */
static const char *end_by_text(const char *p)
{
	for (const char *q = p; *q; q++)
		if (*q == ';') {
			char *one = xstrndup(p, (size_t)(q - p + 1));
			int done = sqlite3_complete(one);
			free(one);
			if (done)
				return q + 1;
		}
	return p + strlen(p);
}

/* Prepare the statement at p in the copy, the pending CREATEs it names run
 * first; what it makes or alters is in k->auth. */
static int prepare(sq_checker *k, const char *p, sqlite3_stmt **st, const char **tail)
{
	names_free(&k->words);
	if (k->defer) {
		words_of(p, (size_t)(end_by_text(p) - p), &k->words);
		replay_tied(k, &k->by_made, &k->words);
	}
	names_free(&k->auth);
	k->auth_create = k->auth_alter = 0;
	sqlite3_set_authorizer(k->db, authorize, k);
	int rc = sqlite3_prepare_v2(k->db, p, -1, st, tail);
	sqlite3_set_authorizer(k->db, NULL, NULL);
	return rc;
}

/* Run (or leave pending) statement st of the plan, which changes the
 * schema. */
static void apply(sq_checker *k, sqlite3_stmt *st, const char *p, const char *tail)
{
	if (!k->defer) {
		run_in_copy(k, st);
		return;
	}
	if (k->auth_alter) {
		replay_all(k);  /* ALTER re-checks every view and trigger */
		run_in_copy(k, st);
		return;
	}
	/* what uses what it makes or drops is made first, as in plan order */
	replay_tied(k, &k->by_use, &k->auth);
	if (k->auth_create && k->schema_ok) {
		defer(k, p, (size_t)(tail - p), &k->words);  /* the words prepare found */
	} else {
		run_in_copy(k, st);
	}
}

int sqlite_check_script(sq_checker *k, const char *sql, size_t *err_offset, dbs_error *err)
{
	const char *p = sql, *end = sql + strlen(sql);  /* measured once */
	while (p < end) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		const char *start = p + sql_skip_space(p, (size_t)(end - p));
		if (k->schema_ok) {
			if (prepare(k, p, &st, &tail) != SQLITE_OK) {
				int off = sqlite3_error_offset(k->db);
				*err_offset = off >= 0 ? (size_t)(p - sql) + (size_t)off
						       : (size_t)(start - sql);
				dbs_fail(err, DBS_EINPUT, "%s", sqlite3_errmsg(k->db));
				err->statement = sql_trimmed(start, strcspn(start, ";"));
				dbs_error_set_hint(err, "fix the SQL; nothing was run");
				return DBS_EINPUT;
			}
		} else {
			/* no schema to prepare against: one statement at a time by text */
			tail = end_by_text(p);
		}
		size_t n = (size_t)(tail - p);
		size_t bad = unterminated_at(p, n);
		if (bad < n) {
			sqlite3_finalize(st);
			*err_offset = (size_t)(p - sql) + bad;
			dbs_fail(err, DBS_EINPUT, "unterminated %s", p[bad] == '/' ? "/* comment"
				 : "quoted string or name");
			dbs_error_set_hint(err, "close it: everything after it would be skipped");
			return DBS_EINPUT;
		}
		const char *first = st ? sqlite3_sql(st) : "";
		first += sql_skip_space(first, strlen(first));
		if (!strncasecmp(first, "ATTACH", 6) || !strncasecmp(first, "DETACH", 6))
			k->schema_ok = 0;  /* other files' schemas: check the rest by text */
		if (st && !sqlite3_stmt_readonly(st) && changes_schema(sqlite3_sql(st)))
			apply(k, st, p, tail);
		sqlite3_finalize(st);
		p = tail;
	}
	return 0;
}
