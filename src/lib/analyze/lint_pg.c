/*
 * lint_pg.c - what each PostgreSQL statement does, from the real parser's
 * tree (libpg_query, as JSON): the lock it takes and on which tables,
 * whether it rewrites or scans, whether it can run in a transaction, its
 * score, and which rules fire.  Lock modes follow the PostgreSQL 15
 * documentation ("Explicit Locking" and ALTER TABLE's notes).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pg_query.h>

#include "analyze/lint.h"

static const char *const lock_order[] = {
	"ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE",
	"SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE", NULL
};

static int lock_rank(const char *l)
{
	for (int i = 0; l && lock_order[i]; i++)
		if (!strcmp(lock_order[i], l))
			return i;
	return -1;
}

static void take_lock(stmt_info *s, const char *mode)
{
	if (lock_rank(mode) > lock_rank(s->lock))
		s->lock = mode;
}

/* ---- JSON tree helpers ---- */

static json_t *jget(json_t *o, const char *path)
{
	char key[64];
	while (o && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}

static const char *jstr(json_t *o, const char *path)
{
	return json_string_value(jget(o, path));
}

static int jtrue(json_t *o, const char *path)
{
	return json_is_true(jget(o, path));
}

/* The location of a node (offset in the section), or fallback. */
static size_t jloc(json_t *o, const char *path, size_t fallback)
{
	json_t *v = jget(o, path);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (size_t)json_integer_value(v)
								 : fallback;
}

/* The single "Type": {...} inside a node wrapper. */
static const char *node_type(json_t *wrapper, json_t **body)
{
	const char *k;
	json_t *v;
	json_object_foreach(wrapper, k, v) {
		*body = v;
		return k;
	}
	*body = NULL;
	return "";
}

/* "varchar(20)", "numeric(10,2)", "int4", "json"... from a TypeName. */
static char *type_string(json_t *tn)
{
	json_t *names = json_object_get(tn, "names");
	size_t n = json_array_size(names);
	const char *base = n ? jstr(json_array_get(names, n - 1), "String.sval") : "?";
	strbuf sb;
	strbuf_init(&sb);
	strbuf_adds(&sb, base ? base : "?");
	json_t *mods = json_object_get(tn, "typmods");
	for (size_t i = 0; i < json_array_size(mods); i++) {
		json_t *iv = jget(json_array_get(mods, i), "A_Const.ival.ival");
		strbuf_addf(&sb, "%s%lld", i ? "," : "(", iv ? (long long)json_integer_value(iv) : 0LL);
		if (i + 1 == json_array_size(mods))
			strbuf_adds(&sb, ")");
	}
	if (json_array_size(json_object_get(tn, "arrayBounds")))
		strbuf_adds(&sb, "[]");
	return strbuf_detach(&sb);
}

static int type_is(const char *t, const char *base)
{
	size_t n = strlen(base);
	return !strncmp(t, base, n) && (t[n] == '\0' || t[n] == '(');
}

/* ---- column rules (CREATE TABLE and ADD COLUMN) ---- */

/*
 * Functions that are immutable or stable in PostgreSQL 15 (pg_proc's
 * provolatile), of those defaults use.  ADD COLUMN with a default that
 * calls anything else rewrites the table, unless the database says the
 * function is not volatile: unknown functions count as volatile.
 */
static const char *const nonvolatile_funcs[] = {
	"now", "statement_timestamp", "transaction_timestamp", "current_setting",
	"current_database", "current_schema", "version", "timezone", "lower", "upper",
	"length", "char_length", "octet_length", "btrim", "ltrim", "rtrim", "concat",
	"concat_ws", "format", "replace", "substr", "substring", "left", "right", "lpad",
	"rpad", "md5", "sha256", "encode", "decode", "abs", "round", "floor", "ceil",
	"ceiling", "trunc", "mod", "power", "sqrt", "to_char", "to_date", "to_timestamp",
	"to_number", "date_trunc", "date_part", "make_date", "make_time", "make_timestamp",
	"make_timestamptz", "make_interval", "age", "jsonb_build_object", "jsonb_build_array",
	"json_build_object", "json_build_array", "to_jsonb", "to_json", "array_length",
	"cardinality", "array_to_string", "string_to_array", "int2", "int4", "int8",
	"float4", "float8", "numeric", "text", "bool", NULL
};

/* Is function f (its last name) not volatile?  The database's pg_proc
 * when there is one, else the list above. */
/* The type of a column the migrations linted so far did not touch, from
 * the database (cached in the model), or NULL. */
static const char *db_column(lint_state *st, const char *table, const char *col)
{
	char *type = NULL;
	dbs_error e = { 0 };
	if (!st->db || db_column_type(st->db->driver, st->db->conn, table, col, &type, &e) ||
	    !type) {
		dbs_error_clear(&e);
		return NULL;
	}
	model_set(st->model, table, col, type);
	free(type);
	return model_type(st->model, table, col);
}

static int nonvolatile(lint_state *st, const char *f)
{
	const lint_db *db = st->db;
	if (st->record_only)
		return 1;  /* an applied migration: no finding, no query */
	if (db) {  /* 0: the database cannot tell */
		char vol = 0;
		dbs_error e = { 0 };
		int rc = db_func_volatility(db->driver, db->conn, f, &vol, &e);
		dbs_error_clear(&e);
		if (!rc && vol)
			return vol != 'v';
	}
	for (int i = 0; nonvolatile_funcs[i]; i++)
		if (!strcmp(f, nonvolatile_funcs[i]))
			return 1;
	return 0;
}

/* The first volatile function expr calls, anywhere in it, or NULL. */
static const char *volatile_call(lint_state *st, json_t *expr)
{
	const char *k;
	json_t *v;
	if (json_is_array(expr)) {
		size_t i;
		json_array_foreach(expr, i, v) {
			const char *f = volatile_call(st, v);
			if (f)
				return f;
		}
		return NULL;
	}
	if (!json_is_object(expr))
		return NULL;
	json_object_foreach(expr, k, v) {
		if (!strcmp(k, "FuncCall")) {
			json_t *names = json_object_get(v, "funcname");
			const char *f = jstr(json_array_get(names, json_array_size(names) - 1),
					     "String.sval");
			if (f && !nonvolatile(st, f))
				return f;
		}
		const char *f = volatile_call(st, v);
		if (f)
			return f;
	}
	return NULL;
}

static void type_rules(lint_state *st, stmt_info *s, json_t *coldef, const char *type,
		       int is_key)
{
	const char *col = jstr(coldef, "colname");
	size_t loc = jloc(coldef, "typeName.location", jloc(coldef, "location", 0));
	if (!strcmp(type, "json"))
		stmt_finding(st, s, "prefer-jsonb", loc, "column %s is json: jsonb is smaller to "
			     "query, can be indexed and compared", col);
	else if (type_is(type, "varchar") && strchr(type, '('))
		stmt_finding(st, s, "prefer-text", loc, "column %s is %s: changing the limit "
			     "later takes a lock and maybe a rewrite", col, type);
	else if (type_is(type, "bpchar"))
		stmt_finding(st, s, "prefer-text", loc, "column %s is char(n): it pads with "
			     "spaces and the limit is hard to change", col);
	else if (!strcmp(type, "timestamp"))
		stmt_finding(st, s, "prefer-timestamptz", loc, "column %s is timestamp without "
			     "time zone: values lose their offset", col);
	if (is_key && (!strcmp(type, "int4") || !strcmp(type, "int2") || !strcmp(type, "serial") ||
		       !strcmp(type, "serial4") || !strcmp(type, "smallserial") ||
		       !strcmp(type, "serial2")))
		stmt_finding(st, s, "prefer-bigint-key", loc, "key column %s is %s: it runs out "
			     "at 2^31 and widening it later rewrites the table", col, type);
	else if (is_key && (!strcmp(type, "bigserial") || !strcmp(type, "serial8")))
		stmt_finding(st, s, "prefer-bigint-key", loc, "key column %s is bigserial: an "
			     "identity column is the standard and owns its sequence", col);
}

/* Type as the model keeps it: serial types are their integer types. */
static const char *model_name(const char *type)
{
	if (!strcmp(type, "serial") || !strcmp(type, "serial4"))
		return "int4";
	if (!strcmp(type, "bigserial") || !strcmp(type, "serial8"))
		return "int8";
	if (!strcmp(type, "smallserial") || !strcmp(type, "serial2"))
		return "int2";
	return type;
}

static int has_contype(json_t *constraints, const char *contype, json_t **which)
{
	for (size_t i = 0; i < json_array_size(constraints); i++) {
		json_t *c = jget(json_array_get(constraints, i), "Constraint");
		if (c && !strcmp(jstr(c, "contype") ? jstr(c, "contype") : "", contype)) {
			if (which)
				*which = c;
			return 1;
		}
	}
	return 0;
}

/* Is column col named in a table-level PRIMARY KEY of elts? */
static int in_table_pk(json_t *elts, const char *col)
{
	for (size_t i = 0; i < json_array_size(elts); i++) {
		json_t *c = jget(json_array_get(elts, i), "Constraint");
		if (!c || strcmp(jstr(c, "contype") ? jstr(c, "contype") : "", "CONSTR_PRIMARY"))
			continue;
		json_t *keys = json_object_get(c, "keys");
		for (size_t k = 0; k < json_array_size(keys); k++)
			if (!strcmp(jstr(json_array_get(keys, k), "String.sval") ?: "", col))
				return 1;
	}
	return 0;
}

static void create_table(lint_state *st, stmt_info *s, json_t *b)
{
	const char *table = jstr(b, "relation.relname");
	s->kind = "CREATE TABLE";
	s->score = 1;
	take_lock(s, "ACCESS EXCLUSIVE");
	stmt_set_tables(s, table);
	if (!table)
		return;
	lint_add_new_table(st, table);
	model_drop_table(st->model, table);
	json_t *elts = json_object_get(b, "tableElts");
	for (size_t i = 0; i < json_array_size(elts); i++) {
		json_t *cd = jget(json_array_get(elts, i), "ColumnDef");
		if (!cd || !jstr(cd, "colname"))
			continue;
		char *type = type_string(json_object_get(cd, "typeName"));
		int key = has_contype(json_object_get(cd, "constraints"), "CONSTR_PRIMARY", NULL) ||
			  in_table_pk(elts, jstr(cd, "colname"));
		type_rules(st, s, cd, type, key);
		model_set(st->model, table, jstr(cd, "colname"), model_name(type));
		free(type);
	}
}

static void create_index(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	const char *table = jstr(b, "relation.relname");
	int conc = jtrue(b, "concurrent");
	s->kind = jtrue(b, "unique") ? (conc ? "CREATE UNIQUE INDEX CONCURRENTLY" : "CREATE UNIQUE INDEX")
				     : (conc ? "CREATE INDEX CONCURRENTLY" : "CREATE INDEX");
	s->score = 2;
	s->scans = 1;
	s->no_tx_only = conc;
	take_lock(s, conc ? "SHARE UPDATE EXCLUSIVE" : "SHARE");
	stmt_set_tables(s, table);
	if (conc && !st->sec->no_transaction)
		stmt_finding(st, s, "concurrently-in-transaction", start, "CREATE INDEX "
			     "CONCURRENTLY cannot run inside a transaction block");
	else if (!conc && table && !lint_is_new_table(st, table))
		stmt_finding(st, s, "index-not-concurrent", start, "CREATE INDEX on existing "
			     "table %s blocks its writes (SHARE lock) until the index is built",
			     table);
}

/* Last name of a DropStmt object: List of String, or a bare String. */
static const char *object_name(json_t *obj)
{
	json_t *items = jget(obj, "List.items");
	if (items)
		return jstr(json_array_get(items, json_array_size(items) - 1), "String.sval");
	return jstr(obj, "String.sval");
}

static void drop(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	const char *type = jstr(b, "removeType") ?: "";
	json_t *objs = json_object_get(b, "objects");
	int conc = jtrue(b, "concurrent");
	s->score = 3;
	if (!strcmp(type, "OBJECT_INDEX")) {
		s->kind = conc ? "DROP INDEX CONCURRENTLY" : "DROP INDEX";
		s->no_tx_only = conc;
		take_lock(s, conc ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE");
		for (size_t i = 0; i < json_array_size(objs); i++)
			stmt_set_tables(s, object_name(json_array_get(objs, i)));
		if (conc && !st->sec->no_transaction)
			stmt_finding(st, s, "concurrently-in-transaction", start, "DROP INDEX "
				     "CONCURRENTLY cannot run inside a transaction block");
		else if (!conc)
			stmt_finding(st, s, "drop-index-not-concurrent", start, "DROP INDEX takes "
				     "an ACCESS EXCLUSIVE lock on its table, queueing every query behind it");
		return;
	}
	static const struct { const char *type, *kind; } kinds[] = {
		{ "OBJECT_TABLE", "DROP TABLE" }, { "OBJECT_SCHEMA", "DROP SCHEMA" },
		{ "OBJECT_VIEW", "DROP VIEW" }, { "OBJECT_MATVIEW", "DROP MATERIALIZED VIEW" },
		{ "OBJECT_SEQUENCE", "DROP SEQUENCE" }, { "OBJECT_FUNCTION", "DROP FUNCTION" },
		{ "OBJECT_TYPE", "DROP TYPE" },
	};
	s->kind = "DROP";
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(type, kinds[k].type))
			s->kind = kinds[k].kind;
	int is_data = !strcmp(type, "OBJECT_TABLE") || !strcmp(type, "OBJECT_SCHEMA");
	if (is_data)
		take_lock(s, "ACCESS EXCLUSIVE");
	for (size_t i = 0; i < json_array_size(objs); i++) {
		const char *name = object_name(json_array_get(objs, i));
		if (!name)
			continue;
		stmt_set_tables(s, name);
		if (!strcmp(type, "OBJECT_TABLE"))
			model_drop_table(st->model, name);
		if (is_data && !lint_is_new_table(st, name))
			stmt_finding(st, s, "drop-object", start, "%s %s deletes it and its data "
				     "for good, and breaks code still using it", s->kind, name);
	}
}

/* Is changing from old to new binary-coercible (no rewrite, no scan)? */
static int coercible(const char *old, const char *new)
{
	if (!strcmp(old, new))
		return 1;
	int old_vc = type_is(old, "varchar") || !strcmp(old, "text");
	if (!strcmp(new, "text") && old_vc)
		return 1;
	if (!strcmp(new, "varchar") && type_is(old, "varchar"))
		return 1;
	if (type_is(new, "varchar") && type_is(old, "varchar") && strchr(old, '(') && strchr(new, '('))
		return atol(strchr(new, '(') + 1) >= atol(strchr(old, '(') + 1);
	if (type_is(new, "numeric") && type_is(old, "numeric")) {
		if (!strchr(new, '('))
			return 1;
		if (!strchr(old, '('))
			return 0;
		const char *os = strchr(old, ','), *ns = strchr(new, ',');
		long oscale = os ? atol(os + 1) : 0, nscale = ns ? atol(ns + 1) : 0;
		return nscale == oscale && atol(strchr(new, '(') + 1) >= atol(strchr(old, '(') + 1);
	}
	return 0;
}

/* "table\tconstraint\tcolumn\t0|1": CHECK (column IS NOT NULL) constraints. */
static void note_check(lint_state *st, const char *table, json_t *c)
{
	json_t *nt = jget(c, "raw_expr.NullTest");
	if (!nt || strcmp(jstr(nt, "nulltesttype") ?: "", "IS_NOT_NULL"))
		return;
	json_t *fields = jget(nt, "arg.ColumnRef.fields");
	const char *col = jstr(json_array_get(fields, json_array_size(fields) - 1), "String.sval");
	if (!col)
		return;
	st->checks = xrealloc(st->checks, (st->nchecks + 1) * sizeof(char *));
	st->checks[st->nchecks++] = xprintf("%s\t%s\t%s\t%d", table, jstr(c, "conname") ?: "",
					    col, !jtrue(c, "skip_validation"));
}

static void validate_check(lint_state *st, const char *table, const char *name)
{
	char *prefix = xprintf("%s\t%s\t", table, name);
	for (size_t i = 0; i < st->nchecks; i++)
		if (starts_with(st->checks[i], prefix))
			st->checks[i][strlen(st->checks[i]) - 1] = '1';
	free(prefix);
}

static int has_validated_check(lint_state *st, const char *table, const char *col)
{
	for (size_t i = 0; i < st->nchecks; i++) {
		char *want = xprintf("%s\t", table);
		char *colpart = xprintf("\t%s\t1", col);
		int hit = starts_with(st->checks[i], want) && ends_with(st->checks[i], colpart);
		free(want);
		free(colpart);
		if (hit)
			return 1;
	}
	return 0;
}

/* ALTER TABLE ... ADD COLUMN: its type, default, constraints and what
 * adding it to an existing table costs. */
static void alter_add_column(lint_state *st, stmt_info *s, const char *table, int existing,
			     json_t *def, size_t start)
{
	size_t at;
	json_t *cd = json_object_get(def, "ColumnDef");
	json_t *cons = json_object_get(cd, "constraints");
	json_t *dflt = NULL;
	char *type = type_string(json_object_get(cd, "typeName"));
	at = jloc(cd, "location", start);
	take_lock(s, "ACCESS EXCLUSIVE");
	type_rules(st, s, cd, type, has_contype(cons, "CONSTR_PRIMARY", NULL));
	int has_default = has_contype(cons, "CONSTR_DEFAULT", &dflt);
	const char *vol = has_default ? volatile_call(st, json_object_get(dflt, "raw_expr"))
				      : NULL;
	int serial = strstr(type, "serial") != NULL;
	int identity = has_contype(cons, "CONSTR_IDENTITY", NULL);
	json_t *gen = NULL, *uniq = NULL;
	int generated = has_contype(cons, "CONSTR_GENERATED", &gen);
	if (has_contype(cons, "CONSTR_UNIQUE", &uniq) ||
	    has_contype(cons, "CONSTR_PRIMARY", &uniq)) {
		s->scans = 1;
		if (existing)
			stmt_finding(st, s, "unique-not-using-index", jloc(uniq, "location", at),
				     "adding column %s with %s builds its index while %s is "
				     "locked against reads and writes", jstr(cd, "colname"),
				     !strcmp(jstr(uniq, "contype"), "CONSTR_UNIQUE") ? "UNIQUE"
				     : "PRIMARY KEY", table);
	}
	if (existing && generated) {
		s->rewrites = 1;
		stmt_finding(st, s, "add-column-generated-stored", jloc(gen, "location", at),
			     "adding stored generated column %s computes it for every row: "
			     "table %s is rewritten under an ACCESS EXCLUSIVE lock",
			     jstr(cd, "colname"), table);
	} else if (existing && (vol || serial || identity)) {
		s->rewrites = 1;
		stmt_finding(st, s, "add-column-volatile-default", at, "adding %s with a "
			     "volatile default (%s) rewrites table %s under an ACCESS "
			     "EXCLUSIVE lock", jstr(cd, "colname"), vol ? vol : identity
			     ? "an identity's nextval" : "a serial's nextval", table);
	} else if (existing && has_contype(cons, "CONSTR_NOTNULL", NULL) && !has_default) {
		stmt_finding(st, s, "add-column-not-null-no-default", at, "adding NOT NULL "
			     "column %s without a default fails if %s has rows",
			     jstr(cd, "colname"), table);
	} else if (existing && has_contype(cons, "CONSTR_NOTNULL", NULL)) {
		stmt_finding(st, s, "add-column-not-null-default", at, "NOT NULL column %s "
			     "with a default: old code that inserts into %s without it still "
			     "works, code that sets NULL does not", jstr(cd, "colname"), table);
	}
	if (jstr(cd, "colname"))
		model_set(st->model, table, jstr(cd, "colname"), model_name(type));
	free(type);
}

/* ALTER TABLE ... ADD CONSTRAINT: the lock it takes and the scan. */
static void alter_add_constraint(lint_state *st, stmt_info *s, const char *table,
				 int existing, json_t *def, size_t start)
{
	size_t at;
	json_t *c = json_object_get(def, "Constraint");
	const char *ct = jstr(c, "contype") ?: "";
	at = jloc(c, "location", start);
	if (!strcmp(ct, "CONSTR_FOREIGN")) {
		take_lock(s, "SHARE ROW EXCLUSIVE");
		stmt_set_tables(s, jstr(c, "pktable.relname"));
		if (existing && !jtrue(c, "skip_validation")) {
			s->scans = 1;
			stmt_finding(st, s, "constraint-not-valid", at, "adding a FOREIGN KEY "
				     "checks every row of %s while holding its lock", table);
		}
	} else if (!strcmp(ct, "CONSTR_CHECK")) {
		take_lock(s, "ACCESS EXCLUSIVE");
		note_check(st, table, c);
		if (existing && !jtrue(c, "skip_validation")) {
			s->scans = 1;
			stmt_finding(st, s, "constraint-not-valid", at, "adding a CHECK scans "
				     "all of %s under an ACCESS EXCLUSIVE lock", table);
		}
	} else if (!strcmp(ct, "CONSTR_UNIQUE") || !strcmp(ct, "CONSTR_PRIMARY")) {
		take_lock(s, "ACCESS EXCLUSIVE");
		if (existing && !jstr(c, "indexname")) {
			s->scans = 1;
			stmt_finding(st, s, "unique-not-using-index", at, "adding %s builds "
				     "its index while %s is locked against reads and writes",
				     !strcmp(ct, "CONSTR_UNIQUE") ? "UNIQUE" : "PRIMARY KEY", table);
		}
	} else {
		take_lock(s, "ACCESS EXCLUSIVE");
	}
}

/* ALTER COLUMN ... TYPE: a rewrite unless the old type is known and
 * binary-coercible to the new one. */
static void alter_column_type(lint_state *st, stmt_info *s, const char *table, int existing,
			      const char *col, json_t *def, size_t start)
{
	json_t *cd = json_object_get(def, "ColumnDef");
	char *type = type_string(json_object_get(cd, "typeName"));
	const char *old = col ? model_type(st->model, table, col) : NULL;
	if (col && !old && !model_knows(st->model, table))
		old = db_column(st, table, col);
	take_lock(s, "ACCESS EXCLUSIVE");
	if (existing) {
		int using = json_object_get(cd, "raw_default") != NULL;
		if (!using && old && coercible(old, type)) {
			stmt_finding(st, s, "alter-column-type-compatible", start, "%s.%s from "
				     "%s to %s needs no rewrite, but takes an ACCESS EXCLUSIVE "
				     "lock", table, col, old, type);
		} else {
			s->rewrites = 1;
			if (old)
				stmt_finding(st, s, "alter-column-type", start, "%s.%s from %s "
					     "to %s rewrites %s and its indexes under an ACCESS "
					     "EXCLUSIVE lock", table, col, old, type, table);
			else
				stmt_finding(st, s, "alter-column-type", start, "changing the "
					     "type of %s.%s to %s rewrites the table unless it is "
					     "binary-coercible (its current type is not in the "
					     "migrations)", table, col ? col : "?", type);
		}
	}
	if (col)
		model_set(st->model, table, col, model_name(type));
	free(type);
}

static void alter_cmd(lint_state *st, stmt_info *s, const char *table, int existing,
		      json_t *cmd, size_t start, int *adds_only, int *drops)
{
	const char *sub = jstr(cmd, "subtype") ?: "";
	const char *col = jstr(cmd, "name");
	json_t *def = json_object_get(cmd, "def");
	if (!strcmp(sub, "AT_AddColumn")) {
		alter_add_column(st, s, table, existing, def, start);
	} else if (!strcmp(sub, "AT_AddConstraint")) {
		alter_add_constraint(st, s, table, existing, def, start);
	} else if (!strcmp(sub, "AT_ValidateConstraint")) {
		*adds_only = 0;
		take_lock(s, "SHARE UPDATE EXCLUSIVE");
		s->scans = 1;
		if (col)
			validate_check(st, table, col);
	} else if (!strcmp(sub, "AT_DropColumn") || !strcmp(sub, "AT_DropConstraint")) {
		*adds_only = 0;
		*drops = 1;
		take_lock(s, "ACCESS EXCLUSIVE");
		if (!strcmp(sub, "AT_DropColumn") && existing)
			stmt_finding(st, s, "drop-object", start, "DROP COLUMN %s.%s deletes its "
				     "data and breaks code still reading it", table, col ? col : "?");
	} else if (!strcmp(sub, "AT_AlterColumnType")) {
		*adds_only = 0;
		alter_column_type(st, s, table, existing, col, def, start);
	} else if (!strcmp(sub, "AT_SetNotNull")) {
		*adds_only = 0;
		take_lock(s, "ACCESS EXCLUSIVE");
		if (existing && col && has_validated_check(st, table, col)) {
			stmt_finding(st, s, "set-not-null-checked", start, "SET NOT NULL on %s.%s "
				     "uses the validated CHECK and skips the scan", table, col);
		} else if (existing) {
			s->scans = 1;
			stmt_finding(st, s, "set-not-null", start, "SET NOT NULL scans all of %s "
				     "under an ACCESS EXCLUSIVE lock", table);
		}
	} else if (!strcmp(sub, "AT_SetStatistics") || !strcmp(sub, "AT_ClusterOn") ||
		   !strcmp(sub, "AT_SetOptions") || !strcmp(sub, "AT_ResetOptions")) {
		*adds_only = 0;
		take_lock(s, "SHARE UPDATE EXCLUSIVE");
	} else {
		*adds_only = 0;
		take_lock(s, "ACCESS EXCLUSIVE");
	}
}

static void alter_table(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	const char *table = jstr(b, "relation.relname");
	int existing = table && !lint_is_new_table(st, table);
	int adds_only = 1, drops = 0;
	s->kind = "ALTER TABLE";
	stmt_set_tables(s, table);
	json_t *cmds = json_object_get(b, "cmds");
	for (size_t i = 0; i < json_array_size(cmds); i++) {
		json_t *cmd = jget(json_array_get(cmds, i), "AlterTableCmd");
		if (cmd && table)
			alter_cmd(st, s, table, existing, cmd, start, &adds_only, &drops);
	}
	s->score = drops ? 3 : adds_only ? 1 : 2;
}

static void rename_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	const char *type = jstr(b, "renameType") ?: "";
	const char *table = jstr(b, "relation.relname");
	s->kind = "RENAME";
	s->score = 2;
	take_lock(s, "ACCESS EXCLUSIVE");
	stmt_set_tables(s, table);
	if (!table)
		return;
	int existing = !lint_is_new_table(st, table);
	if (!strcmp(type, "OBJECT_COLUMN")) {
		if (existing)
			stmt_finding(st, s, "rename", start, "renaming column %s.%s to %s breaks "
				     "running code that still uses the old name", table,
				     jstr(b, "subname"), jstr(b, "newname"));
		model_rename(st->model, table, jstr(b, "subname"), jstr(b, "newname"));
	} else if (!strcmp(type, "OBJECT_TABLE")) {
		if (existing)
			stmt_finding(st, s, "rename", start, "renaming table %s to %s breaks "
				     "running code that still uses the old name", table,
				     jstr(b, "newname"));
		model_rename(st->model, table, NULL, jstr(b, "newname"));
		if (!existing)
			lint_add_new_table(st, jstr(b, "newname"));
	}
}

static void dml(lint_state *st, stmt_info *s, json_t *b, const char *kind, size_t start)
{
	const char *table = jstr(b, "relation.relname");
	s->kind = kind;
	s->score = 4;
	take_lock(s, "ROW EXCLUSIVE");
	stmt_set_tables(s, table);
	if (strcmp(kind, "INSERT") && !json_object_get(b, "whereClause") && table &&
	    !lint_is_new_table(st, table)) {
		s->scans = 1;
		stmt_finding(st, s, "dml-without-where", start, "%s without WHERE changes every "
			     "row of %s in one transaction, locking them all", kind, table);
	}
}

static int has_option(json_t *opts, const char *name)
{
	for (size_t i = 0; i < json_array_size(opts); i++)
		if (!strcmp(jstr(json_array_get(opts, i), "DefElem.defname") ?: "", name))
			return 1;
	return 0;
}

/* Analyze one statement node into s. */
static void dropdb_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	s->kind = "DROP DATABASE";
	s->score = 3;
	s->no_tx_only = 1;
	stmt_finding(st, s, "drop-object", start, "DROP DATABASE %s deletes everything in it",
		     jstr(b, "dbname"));
}

static void truncate_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	json_t *rels = json_object_get(b, "relations");
	int cascade = !strcmp(jstr(b, "behavior") ?: "", "DROP_CASCADE");
	s->kind = "TRUNCATE";
	s->score = 4;
	take_lock(s, "ACCESS EXCLUSIVE");
	for (size_t i = 0; i < json_array_size(rels); i++) {
		const char *name = jstr(json_array_get(rels, i), "RangeVar.relname");
		stmt_set_tables(s, name);
		if (name && !lint_is_new_table(st, name))
			stmt_finding(st, s, "truncate", start, "TRUNCATE %s%s deletes every "
				     "row%s under an ACCESS EXCLUSIVE lock", name,
				     cascade ? " CASCADE" : "", cascade ? ", and every row "
				     "referencing them in other tables," : "");
	}
}

static void vacuum_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	int full = has_option(json_object_get(b, "options"), "full");
	s->kind = jtrue(b, "is_vacuumcmd") ? "VACUUM" : "ANALYZE";
	s->score = 3;
	s->no_tx_only = jtrue(b, "is_vacuumcmd");
	take_lock(s, full ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE");
	json_t *rels = json_object_get(b, "rels");
	for (size_t i = 0; i < json_array_size(rels); i++)
		stmt_set_tables(s, jstr(json_array_get(rels, i), "VacuumRelation.relation.relname"));
	if (full) {
		s->rewrites = 1;
		stmt_finding(st, s, "vacuum-full", start, "VACUUM FULL rewrites the table under an "
			     "ACCESS EXCLUSIVE lock");
	}
}

static void cluster_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	s->kind = "CLUSTER";
	s->score = 3;
	s->rewrites = 1;
	take_lock(s, "ACCESS EXCLUSIVE");
	stmt_set_tables(s, jstr(b, "relation.relname"));
	stmt_finding(st, s, "cluster", start, "CLUSTER rewrites the table under an ACCESS "
		     "EXCLUSIVE lock");
}

static void reindex_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	int conc = has_option(json_object_get(b, "params"), "concurrently");
	s->kind = conc ? "REINDEX CONCURRENTLY" : "REINDEX";
	s->score = 2;
	s->no_tx_only = conc;
	take_lock(s, conc ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE");
	stmt_set_tables(s, jstr(b, "relation.relname"));
	if (conc && !st->sec->no_transaction)
		stmt_finding(st, s, "concurrently-in-transaction", start, "REINDEX CONCURRENTLY "
			     "cannot run inside a transaction block");
	else if (!conc)
		stmt_finding(st, s, "reindex-not-concurrent", start, "REINDEX blocks writes to the "
			     "table (and reads that use the index) until done");
}

static void transaction_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	const char *k = jstr(b, "kind") ?: "";
	s->kind = "TRANSACTION";
	s->tx_control = strcmp(k, "TRANS_STMT_SAVEPOINT") && strcmp(k, "TRANS_STMT_RELEASE") &&
			strcmp(k, "TRANS_STMT_ROLLBACK_TO");
	stmt_finding(st, s, "transaction-control", start, "transaction control inside a "
		     "migration breaks dbshift's all-or-nothing guarantee");
}

static void set_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	(void)start;
	s->kind = "SET";
	if (!strcmp(jstr(b, "name") ?: "", "lock_timeout"))
		st->lock_timeout_set = 1;
}

static void update_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	dml(st, s, b, "UPDATE", start);
}

static void delete_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	dml(st, s, b, "DELETE", start);
}

static void insert_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	dml(st, s, b, "INSERT", start);
}

static void create_table_stmt(lint_state *st, stmt_info *s, json_t *b, size_t start)
{
	(void)start;
	create_table(st, s, b);
}

/* CREATE TABLE AS and SELECT INTO: a new table, filled from a query. */
static int new_table_from_query(lint_state *st, stmt_info *s, const char *t, json_t *b)
{
	int into = !strcmp(t, "SelectStmt");
	if (!(into && jget(b, "intoClause")) &&
	    !(!strcmp(t, "CreateTableAsStmt") && !strcmp(jstr(b, "objtype") ?: "", "OBJECT_TABLE")))
		return 0;
	const char *table = jstr(b, into ? "intoClause.rel.relname" : "into.rel.relname");
	s->kind = into ? "SELECT INTO" : "CREATE TABLE AS";
	s->score = 1;
	take_lock(s, "ACCESS SHARE");
	if (table) {
		lint_add_new_table(st, table);
		model_drop_table(st->model, table);
	}
	return 1;
}

/* What no handler knows: harmless reads and creations, or opaque. */
static void other_stmt(stmt_info *s, const char *t)
{
	if (!strcmp(t, "SelectStmt") || !strcmp(t, "CommentStmt") || !strcmp(t, "GrantStmt") ||
	    !strcmp(t, "VariableShowStmt")) {
		s->kind = !strcmp(t, "SelectStmt") ? "SELECT" : !strcmp(t, "CommentStmt")
							? "COMMENT" : "GRANT";
		if (!strcmp(t, "SelectStmt"))
			take_lock(s, "ACCESS SHARE");
	} else if (starts_with(t, "Create") || !strcmp(t, "ViewStmt") ||
		   !strcmp(t, "DefineStmt") || !strcmp(t, "CompositeTypeStmt")) {
		s->kind = "CREATE";
		s->score = 1;
	} else {
		s->kind = "OTHER";
		s->score = 3;  /* opaque: we cannot say what it locks */
	}
}

/* ACCESS EXCLUSIVE on a table with rows, and nothing bounds the wait. */
static void lock_timeout_rule(lint_state *st, stmt_info *s, size_t start)
{
	if (!s->lock || strcmp(s->lock, "ACCESS EXCLUSIVE") || st->lock_timeout_set ||
	    !s->tables || !strcmp(s->kind, "CREATE TABLE"))
		return;
	int any_existing = 0;
	char *copy = xstrdup(s->tables);
	for (char *p = copy, *save = NULL, *tok; (tok = strtok_r(p, ", ", &save)); p = NULL)
		any_existing |= !lint_is_new_table(st, tok);
	free(copy);
	if (any_existing)
		stmt_finding(st, s, "missing-lock-timeout", start, "%s takes an ACCESS EXCLUSIVE "
			     "lock on %s with no lock_timeout set: while it waits for the lock, "
			     "every query on the table waits behind it", s->kind, s->tables);
}

static const struct {
	const char *type;
	void (*fn)(lint_state *st, stmt_info *s, json_t *b, size_t start);
} handlers[] = {
	{ "CreateStmt", create_table_stmt }, { "IndexStmt", create_index },
	{ "DropStmt", drop }, { "DropdbStmt", dropdb_stmt },
	{ "AlterTableStmt", alter_table }, { "RenameStmt", rename_stmt },
	{ "UpdateStmt", update_stmt }, { "DeleteStmt", delete_stmt },
	{ "InsertStmt", insert_stmt }, { "TruncateStmt", truncate_stmt },
	{ "VacuumStmt", vacuum_stmt }, { "ClusterStmt", cluster_stmt },
	{ "ReindexStmt", reindex_stmt }, { "TransactionStmt", transaction_stmt },
	{ "VariableSetStmt", set_stmt },
};

static void statement(lint_state *st, stmt_info *s, json_t *node, size_t start)
{
	json_t *b;
	const char *t = node_type(node, &b);
	size_t i = 0, n = sizeof(handlers) / sizeof(handlers[0]);
	while (i < n && strcmp(handlers[i].type, t))
		i++;
	if (i < n)
		handlers[i].fn(st, s, b, start);
	else if (!new_table_from_query(st, s, t, b))
		other_stmt(s, t);
	lock_timeout_rule(st, s, start);
}

/*
 * The parse tree of a statement is walked recursively (by libpg_query's
 * JSON output and by us), so a statement nested deeper than this is refused
 * before it is parsed rather than allowed to overflow the stack.
 */
#define MAX_NESTING 10000

/* Skip a quoted string, identifier or dollar-quoted body at sql[i]; the
 * offset after it. */
static size_t skip_quoted(const char *sql, size_t i, size_t n)
{
	char q = sql[i];
	if (q == '$') {
		size_t t = i + 1;
		while (t < n && (isalnum((unsigned char)sql[t]) || sql[t] == '_'))
			t++;
		if (t >= n || sql[t] != '$')
			return i + 1;
		size_t taglen = t - i + 1;
		const char *end = memmem(sql + t + 1, n - t - 1, sql + i, taglen);
		return end ? (size_t)(end - sql) + taglen : n;
	}
	int backslash = q == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
	for (i++; i < n; i++) {
		if (backslash && sql[i] == '\\')
			i++;
		else if (sql[i] == q && i + 1 < n && sql[i + 1] == q)
			i++;
		else if (sql[i] == q)
			return i + 1;
	}
	return n;
}

/*
 * An upper estimate of how deep the parse tree of sql gets: at each level
 * of parentheses, the operators and words since the last comma (a chain
 * like 1+1+1... nests one node per operator), plus the parentheses.  Sets
 * *at to where the deepest point's statement starts.
 */
static size_t nesting_estimate(const char *sql, size_t *at)
{
	size_t n = strlen(sql), depth = 0, worst = 0, stmt = 0;
	size_t run[64] = { 0 }, sum = 0;  /* runs of the innermost 64 levels */
	for (size_t i = 0; i < n;) {
		char c = sql[i];
		if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
			while (i < n && sql[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
			int level = 1;
			for (i += 2; i < n && level; i++) {
				if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*')
					level++, i++;
				else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/')
					level--, i++;
			}
		} else if (c == '\'' || c == '"' || c == '$') {
			i = skip_quoted(sql, i, n);
		} else if (c == '(' || c == '[') {
			depth++;
			if (depth < 64)
				run[depth] = 0;
			i++;
		} else if (c == ')' || c == ']') {
			if (depth > 0 && depth < 64)
				sum -= run[depth];
			if (depth > 0)
				depth--;
			i++;
		} else if (c == ',' || c == ';') {
			if (depth < 64) {
				sum -= run[depth];
				run[depth] = 0;
			}
			if (c == ';' && depth == 0)
				stmt = i + 1;
			i++;
		} else if (strchr("+-*/<>=~!@#%^&|`?", c) || isalpha((unsigned char)c) || c == '_') {
			if (isalpha((unsigned char)c) || c == '_')
				while (i < n && (isalnum((unsigned char)sql[i]) || sql[i] == '_'))
					i++;
			else
				while (i < n && strchr("+-*/<>=~!@#%^&|`?", sql[i]) &&
				       !(sql[i] == '-' && i + 1 < n && sql[i + 1] == '-'))
					i++;
			if (depth < 64) {
				run[depth]++;
				sum++;
			}
		} else {
			i++;
		}
		if (sum + depth > worst) {
			worst = sum + depth;
			*at = stmt;
		}
	}
	return worst;
}

/* The input error for a statement too deep to analyse, at sql + at. */
static int too_deep(lint_state *st, size_t at, dbs_error *err)
{
	const char *sql = st->sec->sql;
	int line, col;
	size_t start = at + sql_skip_space(sql + at, strlen(sql + at));
	stmt_locate(st, NULL, start, &line, &col);
	dbs_fail(err, DBS_EINPUT, "statement nested too deeply to analyse");
	dbs_error_set_file(err, st->sec->file, line, col);
	char *text = sql_trimmed(sql + start, strcspn(sql + start, ";"));
	if (strlen(text) > 200)
		memcpy(text + 197, "...", 4);
	err->statement = text;
	dbs_error_set_hint(err, "split the expression into smaller statements, or build it "
			   "in a function");
	return DBS_EINPUT;
}

/*
 * The statements' places, kept on the section: the same parser splits a
 * script for the PostgreSQL driver, so a script lint has read is not
 * parsed again to run it.  Not when the text mentions COPY: the driver's
 * own split also refuses COPY ... FROM stdin, whose data lines it reads.
 */
static void keep_spans(const section *sec, json_t *stmts)
{
	section *w = (section *)sec;  /* the run's cache, not the script's text */
	if (w->split || strcasestr(w->sql, "copy"))
		return;
	size_t n = json_array_size(stmts);
	w->span = xcalloc(n + 1, sizeof(*w->span));
	for (size_t i = 0; i < n; i++) {
		json_t *raw = json_array_get(stmts, i);
		size_t loc = jloc(raw, "stmt_location", 0), len = jloc(raw, "stmt_len", 0);
		w->span[i][0] = loc;
		w->span[i][1] = len ? len : strlen(w->sql + loc);
	}
	w->nspan = n;
	w->split = 1;
}

static int pg_analyze(lint_state *st, stmt_info **out, size_t *n, dbs_error *err)
{
	const char *sql = st->sec->sql;
	size_t at = 0;
	if (nesting_estimate(sql, &at) > MAX_NESTING)
		return too_deep(st, at, err);
	PgQueryParseResult r = pg_query_parse(sql);
	if (r.error) {
		*out = xrealloc(*out, (*n + 1) * sizeof(stmt_info));
		stmt_info *s = &(*out)[(*n)++];
		memset(s, 0, sizeof(*s));
		size_t off = r.error->cursorpos > 0 ? (size_t)r.error->cursorpos - 1 : 0;
		s->file = st->sec->file;
		stmt_locate(st, s, sql_skip_space(sql, strlen(sql)), &s->line, &s->col);
		s->text = sql_trimmed(sql, strlen(sql));
		s->kind = "UNPARSABLE";
		s->score = 3;
		stmt_finding(st, s, "syntax-error", off, "%s", r.error->message);
		pg_query_free_parse_result(r);
		return 0;
	}
	json_t *root = json_loads(r.parse_tree, 0, NULL);
	pg_query_free_parse_result(r);
	if (!root)  /* deeper than the JSON reader goes */
		return too_deep(st, at, err);
	json_t *stmts = json_object_get(root, "stmts");
	keep_spans(st->sec, stmts);
	for (size_t i = 0; i < json_array_size(stmts); i++) {
		json_t *raw = json_array_get(stmts, i);
		size_t loc = jloc(raw, "stmt_location", 0);
		size_t len = jloc(raw, "stmt_len", 0);
		if (len == 0)
			len = strlen(sql + loc);
		size_t start = loc + sql_skip_space(sql + loc, len);
		*out = xrealloc(*out, (*n + 1) * sizeof(stmt_info));
		stmt_info *s = &(*out)[(*n)++];
		memset(s, 0, sizeof(*s));
		s->file = st->sec->file;
		stmt_locate(st, s, start, &s->line, &s->col);
		s->text = sql_trimmed(sql + loc, len);
		statement(st, s, json_object_get(raw, "stmt"), start);
	}
	json_decref(root);
	return 0;
}

const lint_dialect lint_postgres = { "postgres", pg_analyze };
