/*
 * lint_pg.c - what each PostgreSQL statement does, from the real parser's
 * tree (libpg_query's protobuf output, read back with the descriptors it
 * ships): the lock it takes and on which tables,
 * whether it rewrites or scans, whether it can run in a transaction, its
 * score, and which rules fire.  Lock modes follow the PostgreSQL 15
 * documentation ("Explicit Locking" and ALTER TABLE's notes).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

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

/* ---- parse tree helpers ---- */

typedef PgQuery__Node node;

/* The parser's empty strings are absent ones. */
static const char *nz(const char *str)
{
	return str && *str ? str : NULL;
}

/* A node's location (offset in the section), or fallback where the
 * parser has none. */
static size_t at_or(int32_t loc, size_t fallback)
{
	return loc > 0 ? (size_t)loc : fallback;
}

static const char *str_of(const node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_STRING ? nz(n->string->sval) : NULL;
}

/* The last of a list of String nodes: the name in a qualified name. */
static const char *last_name(node *const *items, size_t n)
{
	return n ? str_of(items[n - 1]) : NULL;
}

static const char *relname(const PgQuery__RangeVar *rv)
{
	return rv ? nz(rv->relname) : NULL;
}

/* The statement node's type: "CreateStmt", "IndexStmt"... */
static const char *node_type(const node *n)
{
	if (!n || n->node_case == PG_QUERY__NODE__NODE__NOT_SET)
		return "";
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(n->base.descriptor, n->node_case);
	const ProtobufCMessage *body = f ? *(ProtobufCMessage *const *)((const char *)n +
									 f->offset) : NULL;
	return body ? body->descriptor->short_name : "";
}

/* "varchar(20)", "numeric(10,2)", "int4", "json"... from a TypeName. */
static char *type_string(const PgQuery__TypeName *tn)
{
	const char *base = tn ? last_name(tn->names, tn->n_names) : NULL;
	strbuf sb;
	strbuf_init(&sb);
	strbuf_adds(&sb, base ? base : "?");
	for (size_t i = 0; tn && i < tn->n_typmods; i++) {
		const node *m = tn->typmods[i];
		long long iv = m->node_case == PG_QUERY__NODE__NODE_A_CONST &&
			       m->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL
			       ? m->a_const->ival->ival : 0;
		strbuf_addf(&sb, "%s%lld", i ? "," : "(", iv);
		if (i + 1 == tn->n_typmods)
			strbuf_adds(&sb, ")");
	}
	if (tn && tn->n_array_bounds)
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

/* The first function m calls, anywhere in it, that want says yes to, or
 * NULL: every message field of the tree, through its descriptor. */
static const char *find_call(lint_state *st, const ProtobufCMessage *m,
			     int (*want)(lint_state *st, const char *f))
{
	if (!m)
		return NULL;
	if (m->descriptor == &pg_query__func_call__descriptor) {
		const PgQuery__FuncCall *fc = (const PgQuery__FuncCall *)m;
		const char *f = last_name(fc->funcname, fc->n_funcname);
		if (f && want(st, f))
			return f;
	}
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *f = NULL;
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base +
											fd->offset);
			for (size_t k = 0; k < n && !f; k++)
				f = find_call(st, v[k], want);
		} else if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
			   *(const uint32_t *)(base + fd->quantifier_offset) == fd->id) {
			f = find_call(st, *(ProtobufCMessage *const *)(base + fd->offset), want);
		}
		if (f)
			return f;
	}
	return NULL;
}

static int is_volatile(lint_state *st, const char *f)
{
	return !nonvolatile(st, f);
}

/* pg_advisory_unlock_all(): it releases every session advisory lock,
 * dbshift's migrator lock among them. */
static int unlocks_all(lint_state *st, const char *f)
{
	(void)st;
	return !strcmp(f, "pg_advisory_unlock_all");
}

static void type_rules(lint_state *st, stmt_info *s, const PgQuery__ColumnDef *cd,
		       const char *type, int is_key)
{
	const char *col = nz(cd->colname);
	size_t loc = at_or(cd->type_name ? cd->type_name->location : 0, at_or(cd->location, 0));
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

static int has_contype(node *const *cons, size_t n, PgQuery__ConstrType contype,
		       const PgQuery__Constraint **which)
{
	for (size_t i = 0; i < n; i++) {
		if (cons[i]->node_case != PG_QUERY__NODE__NODE_CONSTRAINT ||
		    cons[i]->constraint->contype != contype)
			continue;
		if (which)
			*which = cons[i]->constraint;
		return 1;
	}
	return 0;
}

/* Is column col named in a table-level PRIMARY KEY of elts? */
static int in_table_pk(node *const *elts, size_t n, const char *col)
{
	for (size_t i = 0; i < n; i++) {
		if (elts[i]->node_case != PG_QUERY__NODE__NODE_CONSTRAINT)
			continue;
		const PgQuery__Constraint *c = elts[i]->constraint;
		if (c->contype != PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY)
			continue;
		for (size_t k = 0; k < c->n_keys; k++)
			if (!strcmp(str_of(c->keys[k]) ?: "", col))
				return 1;
	}
	return 0;
}

static void create_table(lint_state *st, stmt_info *s, const PgQuery__CreateStmt *b)
{
	const char *table = relname(b->relation);
	s->kind = "CREATE TABLE";
	s->score = 1;
	take_lock(s, "ACCESS EXCLUSIVE");
	stmt_set_tables(s, table);
	if (!table)
		return;
	lint_add_new_table(st, table);
	model_drop_table(st->model, table);
	for (size_t i = 0; i < b->n_table_elts; i++) {
		if (b->table_elts[i]->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF)
			continue;
		const PgQuery__ColumnDef *cd = b->table_elts[i]->column_def;
		const char *col = nz(cd->colname);
		if (!col)
			continue;
		char *type = type_string(cd->type_name);
		int key = has_contype(cd->constraints, cd->n_constraints,
				      PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY, NULL) ||
			  in_table_pk(b->table_elts, b->n_table_elts, col);
		type_rules(st, s, cd, type, key);
		model_set(st->model, table, col, model_name(type));
		free(type);
	}
}

static void create_index(lint_state *st, stmt_info *s, const PgQuery__IndexStmt *b,
			 size_t start)
{
	const char *table = relname(b->relation);
	int conc = b->concurrent;
	s->kind = b->unique ? (conc ? "CREATE UNIQUE INDEX CONCURRENTLY" : "CREATE UNIQUE INDEX")
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
static const char *object_name(const node *obj)
{
	if (obj->node_case == PG_QUERY__NODE__NODE_LIST)
		return last_name(obj->list->items, obj->list->n_items);
	return str_of(obj);
}

static void drop(lint_state *st, stmt_info *s, const PgQuery__DropStmt *b, size_t start)
{
	PgQuery__ObjectType type = b->remove_type;
	int conc = b->concurrent;
	s->score = 3;
	if (type == PG_QUERY__OBJECT_TYPE__OBJECT_INDEX) {
		s->kind = conc ? "DROP INDEX CONCURRENTLY" : "DROP INDEX";
		s->no_tx_only = conc;
		take_lock(s, conc ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE");
		for (size_t i = 0; i < b->n_objects; i++)
			stmt_set_tables(s, object_name(b->objects[i]));
		if (conc && !st->sec->no_transaction)
			stmt_finding(st, s, "concurrently-in-transaction", start, "DROP INDEX "
				     "CONCURRENTLY cannot run inside a transaction block");
		else if (!conc)
			stmt_finding(st, s, "drop-index-not-concurrent", start, "DROP INDEX takes "
				     "an ACCESS EXCLUSIVE lock on its table, queueing every query behind it");
		return;
	}
	static const struct { PgQuery__ObjectType type; const char *kind; } kinds[] = {
		{ PG_QUERY__OBJECT_TYPE__OBJECT_TABLE, "DROP TABLE" },
		{ PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA, "DROP SCHEMA" },
		{ PG_QUERY__OBJECT_TYPE__OBJECT_VIEW, "DROP VIEW" },
		{ PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW, "DROP MATERIALIZED VIEW" },
		{ PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE, "DROP SEQUENCE" },
		{ PG_QUERY__OBJECT_TYPE__OBJECT_FUNCTION, "DROP FUNCTION" },
		{ PG_QUERY__OBJECT_TYPE__OBJECT_TYPE, "DROP TYPE" },
	};
	s->kind = "DROP";
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (type == kinds[k].type)
			s->kind = kinds[k].kind;
	int is_table = type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE;
	int is_data = is_table || type == PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA;
	if (is_data)
		take_lock(s, "ACCESS EXCLUSIVE");
	for (size_t i = 0; i < b->n_objects; i++) {
		const char *name = object_name(b->objects[i]);
		if (!name)
			continue;
		stmt_set_tables(s, name);
		if (is_table)
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
static void note_check(lint_state *st, const char *table, const PgQuery__Constraint *c)
{
	const node *e = c->raw_expr;
	if (!e || e->node_case != PG_QUERY__NODE__NODE_NULL_TEST ||
	    e->null_test->nulltesttype != PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL)
		return;
	const node *arg = e->null_test->arg;
	const char *col = arg && arg->node_case == PG_QUERY__NODE__NODE_COLUMN_REF
			  ? last_name(arg->column_ref->fields, arg->column_ref->n_fields) : NULL;
	if (!col)
		return;
	st->checks = xrealloc(st->checks, (st->nchecks + 1) * sizeof(char *));
	st->checks[st->nchecks++] = xprintf("%s\t%s\t%s\t%d", table, nz(c->conname) ?: "",
					    col, !c->skip_validation);
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
			     const node *def, size_t start)
{
	if (!def || def->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF) {
		take_lock(s, "ACCESS EXCLUSIVE");
		return;
	}
	const PgQuery__ColumnDef *cd = def->column_def;
	node *const *cons = cd->constraints;
	size_t ncons = cd->n_constraints;
	const PgQuery__Constraint *dflt = NULL, *gen = NULL, *uniq = NULL;
	const char *col = nz(cd->colname);
	char *type = type_string(cd->type_name);
	size_t at = at_or(cd->location, start);
	take_lock(s, "ACCESS EXCLUSIVE");
	type_rules(st, s, cd, type, has_contype(cons, ncons, PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY,
						NULL));
	int has_default = has_contype(cons, ncons, PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT, &dflt);
	const char *vol = has_default && dflt->raw_expr
				  ? find_call(st, &dflt->raw_expr->base, is_volatile) : NULL;
	int serial = strstr(type, "serial") != NULL;
	int identity = has_contype(cons, ncons, PG_QUERY__CONSTR_TYPE__CONSTR_IDENTITY, NULL);
	int generated = has_contype(cons, ncons, PG_QUERY__CONSTR_TYPE__CONSTR_GENERATED, &gen);
	int notnull = has_contype(cons, ncons, PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL, NULL);
	const PgQuery__Constraint *fk = NULL;
	if (has_contype(cons, ncons, PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN, &fk)) {
		/* the referenced table: SHARE ROW EXCLUSIVE, while the new column's
		 * values are checked against it */
		stmt_set_tables(s, relname(fk->pktable));
		if (existing && !fk->skip_validation) {
			s->scans = 1;
			stmt_finding(st, s, "constraint-not-valid", at_or(fk->location, at),
				     "adding column %s with REFERENCES %s checks every row of %s "
				     "while %s is locked (SHARE ROW EXCLUSIVE)", col,
				     nz(relname(fk->pktable)) ? relname(fk->pktable) : "?", table,
				     nz(relname(fk->pktable)) ? relname(fk->pktable) : "?");
		}
	}
	if (has_contype(cons, ncons, PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE, &uniq) ||
	    has_contype(cons, ncons, PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY, &uniq)) {
		s->scans = 1;
		if (existing)
			stmt_finding(st, s, "unique-not-using-index", at_or(uniq->location, at),
				     "adding column %s with %s builds its index while %s is "
				     "locked against reads and writes", col,
				     uniq->contype == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE ? "UNIQUE"
				     : "PRIMARY KEY", table);
	}
	if (existing && generated) {
		s->rewrites = 1;
		stmt_finding(st, s, "add-column-generated-stored", at_or(gen->location, at),
			     "adding stored generated column %s computes it for every row: "
			     "table %s is rewritten under an ACCESS EXCLUSIVE lock", col, table);
	} else if (existing && has_default && st->pg_version && st->pg_version < 11) {
		s->rewrites = 1;  /* before 11, any default is written into every row */
		stmt_finding(st, s, "add-column-volatile-default", at, "adding %s with a default "
			     "rewrites table %s under an ACCESS EXCLUSIVE lock on PostgreSQL %d "
			     "(from 11 on, a constant default does not)", col, table,
			     st->pg_version);
	} else if (existing && (vol || serial || identity)) {
		s->rewrites = 1;
		stmt_finding(st, s, "add-column-volatile-default", at, "adding %s with a "
			     "volatile default (%s) rewrites table %s under an ACCESS "
			     "EXCLUSIVE lock", col, vol ? vol : identity
			     ? "an identity's nextval" : "a serial's nextval", table);
	} else if (existing && notnull && !has_default) {
		stmt_finding(st, s, "add-column-not-null-no-default", at, "adding NOT NULL "
			     "column %s without a default fails if %s has rows", col, table);
	} else if (existing && notnull) {
		stmt_finding(st, s, "add-column-not-null-default", at, "NOT NULL column %s "
			     "with a default: old code that inserts into %s without it still "
			     "works, code that sets NULL does not", col, table);
	}
	if (col)
		model_set(st->model, table, col, model_name(type));
	free(type);
}

/* ALTER TABLE ... ADD CONSTRAINT: the lock it takes and the scan. */
static void alter_add_constraint(lint_state *st, stmt_info *s, const char *table,
				 int existing, const node *def, size_t start)
{
	if (!def || def->node_case != PG_QUERY__NODE__NODE_CONSTRAINT) {
		take_lock(s, "ACCESS EXCLUSIVE");
		return;
	}
	const PgQuery__Constraint *c = def->constraint;
	PgQuery__ConstrType ct = c->contype;
	size_t at = at_or(c->location, start);
	if (ct == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN) {
		take_lock(s, "SHARE ROW EXCLUSIVE");
		stmt_set_tables(s, relname(c->pktable));
		if (existing && !c->skip_validation) {
			s->scans = 1;
			stmt_finding(st, s, "constraint-not-valid", at, "adding a FOREIGN KEY "
				     "checks every row of %s while holding its lock", table);
		}
	} else if (ct == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK) {
		take_lock(s, "ACCESS EXCLUSIVE");
		note_check(st, table, c);
		if (existing && !c->skip_validation) {
			s->scans = 1;
			stmt_finding(st, s, "constraint-not-valid", at, "adding a CHECK scans "
				     "all of %s under an ACCESS EXCLUSIVE lock", table);
		}
	} else if (ct == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE ||
		   ct == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY) {
		take_lock(s, "ACCESS EXCLUSIVE");
		if (existing && !nz(c->indexname)) {
			s->scans = 1;
			stmt_finding(st, s, "unique-not-using-index", at, "adding %s builds "
				     "its index while %s is locked against reads and writes",
				     ct == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE ? "UNIQUE"
				     : "PRIMARY KEY", table);
		}
	} else {
		take_lock(s, "ACCESS EXCLUSIVE");
	}
}

/* ALTER COLUMN ... TYPE: a rewrite unless the old type is known and
 * binary-coercible to the new one. */
static void alter_column_type(lint_state *st, stmt_info *s, const char *table, int existing,
			      const char *col, const node *def, size_t start)
{
	const PgQuery__ColumnDef *cd = def && def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF
				       ? def->column_def : NULL;
	char *type = type_string(cd ? cd->type_name : NULL);
	const char *old = col ? model_type(st->model, table, col) : NULL;
	if (col && !old && !model_knows(st->model, table))
		old = db_column(st, table, col);
	take_lock(s, "ACCESS EXCLUSIVE");
	if (existing) {
		int using = cd && cd->raw_default;
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

#define AT(type) PG_QUERY__ALTER_TABLE_TYPE__AT_##type

static void alter_cmd(lint_state *st, stmt_info *s, const char *table, int existing,
		      const PgQuery__AlterTableCmd *cmd, size_t start, int *adds_only, int *drops)
{
	PgQuery__AlterTableType sub = cmd->subtype;
	const char *col = nz(cmd->name);
	const node *def = cmd->def;
	if (sub == AT(AddColumn)) {
		alter_add_column(st, s, table, existing, def, start);
	} else if (sub == AT(AddConstraint)) {
		alter_add_constraint(st, s, table, existing, def, start);
	} else if (sub == AT(ValidateConstraint)) {
		*adds_only = 0;
		take_lock(s, "SHARE UPDATE EXCLUSIVE");
		s->scans = 1;
		if (col)
			validate_check(st, table, col);
	} else if (sub == AT(DropColumn) || sub == AT(DropConstraint)) {
		*adds_only = 0;
		*drops = 1;
		take_lock(s, "ACCESS EXCLUSIVE");
		if (sub == AT(DropColumn) && existing)
			stmt_finding(st, s, "drop-object", start, "DROP COLUMN %s.%s deletes its "
				     "data and breaks code still reading it", table, col ? col : "?");
	} else if (sub == AT(AlterColumnType)) {
		*adds_only = 0;
		alter_column_type(st, s, table, existing, col, def, start);
	} else if (sub == AT(SetNotNull)) {
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
	} else if (sub == AT(SetLogged) || sub == AT(SetUnLogged) || sub == AT(SetTableSpace) ||
		   sub == AT(SetAccessMethod)) {
		*adds_only = 0;
		take_lock(s, "ACCESS EXCLUSIVE");
		if (existing) {
			s->rewrites = 1;
			stmt_finding(st, s, "table-rewrite", start, "SET %s rewrites %s and its "
				     "indexes under an ACCESS EXCLUSIVE lock",
				     sub == AT(SetLogged) ? "LOGGED" : sub == AT(SetUnLogged)
				     ? "UNLOGGED" : sub == AT(SetTableSpace) ? "TABLESPACE"
				     : "ACCESS METHOD", table);
		}
	} else if (sub == AT(SetStatistics) || sub == AT(ClusterOn) || sub == AT(SetOptions) ||
		   sub == AT(ResetOptions)) {
		*adds_only = 0;
		take_lock(s, "SHARE UPDATE EXCLUSIVE");
	} else {
		*adds_only = 0;
		take_lock(s, "ACCESS EXCLUSIVE");
	}
}

static void alter_table(lint_state *st, stmt_info *s, const PgQuery__AlterTableStmt *b,
			size_t start)
{
	const char *table = relname(b->relation);
	int existing = table && !lint_is_new_table(st, table);
	int adds_only = 1, drops = 0;
	s->kind = "ALTER TABLE";
	stmt_set_tables(s, table);
	for (size_t i = 0; i < b->n_cmds; i++)
		if (b->cmds[i]->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD && table)
			alter_cmd(st, s, table, existing, b->cmds[i]->alter_table_cmd, start,
				  &adds_only, &drops);
	s->score = drops ? 3 : adds_only ? 1 : 2;
}

static void rename_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	const PgQuery__RenameStmt *b = n->rename_stmt;
	const char *table = relname(b->relation);
	const char *sub = nz(b->subname), *to = nz(b->newname);
	s->kind = "RENAME";
	s->score = 2;
	/* an index is renamed under SHARE UPDATE EXCLUSIVE since PostgreSQL 12 */
	take_lock(s, b->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_INDEX &&
		  (!st->pg_version || st->pg_version >= 12)
		  ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE");
	stmt_set_tables(s, table);
	if (!table)
		return;
	int existing = !lint_is_new_table(st, table);
	if (b->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN) {
		if (existing)
			stmt_finding(st, s, "rename", start, "renaming column %s.%s to %s breaks "
				     "running code that still uses the old name", table, sub, to);
		model_rename(st->model, table, sub, to);
	} else if (b->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) {
		if (existing)
			stmt_finding(st, s, "rename", start, "renaming table %s to %s breaks "
				     "running code that still uses the old name", table, to);
		model_rename(st->model, table, NULL, to);
		if (!existing)
			lint_add_new_table(st, to);
	}
}

static void dml(lint_state *st, stmt_info *s, const PgQuery__RangeVar *rel, int where,
		const char *kind, size_t start)
{
	const char *table = relname(rel);
	s->kind = kind;
	s->score = 4;
	take_lock(s, "ROW EXCLUSIVE");
	stmt_set_tables(s, table);
	if (strcmp(kind, "INSERT") && !where && table && !lint_is_new_table(st, table)) {
		s->scans = 1;
		stmt_finding(st, s, "dml-without-where", start, "%s without WHERE changes every "
			     "row of %s in one transaction, locking them all", kind, table);
	}
}

static void update_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	dml(st, s, n->update_stmt->relation, n->update_stmt->where_clause != NULL, "UPDATE",
	    start);
}

static void delete_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	dml(st, s, n->delete_stmt->relation, n->delete_stmt->where_clause != NULL, "DELETE",
	    start);
}

static void insert_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	dml(st, s, n->insert_stmt->relation, 0, "INSERT", start);
}

static int has_option(node *const *opts, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    !strcmp(opts[i]->def_elem->defname ?: "", name))
			return 1;
	return 0;
}

static void dropdb_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	s->kind = "DROP DATABASE";
	s->score = 3;
	s->no_tx_only = 1;
	stmt_finding(st, s, "drop-object", start, "DROP DATABASE %s deletes everything in it",
		     nz(n->dropdb_stmt->dbname));
}

static void truncate_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	const PgQuery__TruncateStmt *b = n->truncate_stmt;
	int cascade = b->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE;
	s->kind = "TRUNCATE";
	s->score = 4;
	take_lock(s, "ACCESS EXCLUSIVE");
	for (size_t i = 0; i < b->n_relations; i++) {
		const node *r = b->relations[i];
		const char *name = r->node_case == PG_QUERY__NODE__NODE_RANGE_VAR
				   ? relname(r->range_var) : NULL;
		stmt_set_tables(s, name);
		if (name && !lint_is_new_table(st, name))
			stmt_finding(st, s, "truncate", start, "TRUNCATE %s%s deletes every "
				     "row%s under an ACCESS EXCLUSIVE lock", name,
				     cascade ? " CASCADE" : "", cascade ? ", and every row "
				     "referencing them in other tables," : "");
	}
}

static void vacuum_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	const PgQuery__VacuumStmt *b = n->vacuum_stmt;
	int full = has_option(b->options, b->n_options, "full");
	s->kind = b->is_vacuumcmd ? "VACUUM" : "ANALYZE";
	s->score = 3;
	s->no_tx_only = b->is_vacuumcmd;
	take_lock(s, full ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE");
	for (size_t i = 0; i < b->n_rels; i++)
		if (b->rels[i]->node_case == PG_QUERY__NODE__NODE_VACUUM_RELATION)
			stmt_set_tables(s, relname(b->rels[i]->vacuum_relation->relation));
	if (full) {
		s->rewrites = 1;
		stmt_finding(st, s, "vacuum-full", start, "VACUUM FULL rewrites the table under an "
			     "ACCESS EXCLUSIVE lock");
	}
}

static void cluster_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	s->kind = "CLUSTER";
	s->score = 3;
	s->rewrites = 1;
	take_lock(s, "ACCESS EXCLUSIVE");
	stmt_set_tables(s, relname(n->cluster_stmt->relation));
	stmt_finding(st, s, "cluster", start, "CLUSTER rewrites the table under an ACCESS "
		     "EXCLUSIVE lock");
}

static void reindex_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	const PgQuery__ReindexStmt *b = n->reindex_stmt;
	int conc = has_option(b->params, b->n_params, "concurrently");
	s->kind = conc ? "REINDEX CONCURRENTLY" : "REINDEX";
	s->score = 2;
	s->no_tx_only = conc;
	take_lock(s, conc ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE");
	stmt_set_tables(s, relname(b->relation));
	if (conc && !st->sec->no_transaction)
		stmt_finding(st, s, "concurrently-in-transaction", start, "REINDEX CONCURRENTLY "
			     "cannot run inside a transaction block");
	else if (!conc)
		stmt_finding(st, s, "reindex-not-concurrent", start, "REINDEX blocks writes to the "
			     "table (and reads that use the index) until done");
}

static void transaction_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	PgQuery__TransactionStmtKind k = n->transaction_stmt->kind;
	s->kind = "TRANSACTION";
	s->tx_control = k != PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT &&
			k != PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE &&
			k != PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO;
	/* outside dbshift's transaction, the script's own is how it is atomic */
	if (!(s->tx_control && st->sec && st->sec->no_transaction))
		stmt_finding(st, s, "transaction-control", start, "transaction control inside a "
			     "migration breaks dbshift's all-or-nothing guarantee");
}

/* DISCARD ALL ends the session's advisory locks, the migrator lock
 * among them (DISCARD PLANS, SEQUENCES and TEMP leave them). */
static void discard_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	s->kind = "DISCARD";
	if (n->discard_stmt->target == PG_QUERY__DISCARD_MODE__DISCARD_ALL)
		stmt_finding(st, s, "releases-migrator-lock", start, "DISCARD ALL releases "
			     "dbshift's migrator lock, held by this session: another migrator "
			     "could start while this one runs");
}

/* LOCK TABLE: the lock it names (the server's LOCKMODE numbers). */
static void lock_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	(void)st;
	(void)start;
	const PgQuery__LockStmt *b = n->lock_stmt;
	s->kind = "LOCK";
	s->score = 2;
	if (b->mode >= 1 && b->mode <= 8)
		take_lock(s, lock_order[b->mode - 1]);
	for (size_t i = 0; i < b->n_relations; i++)
		if (b->relations[i]->node_case == PG_QUERY__NODE__NODE_RANGE_VAR)
			stmt_set_tables(s, relname(b->relations[i]->range_var));
}

/* CREATE TRIGGER: SHARE ROW EXCLUSIVE on its table. */
static void create_trigger_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	(void)st;
	(void)start;
	s->kind = "CREATE TRIGGER";
	s->score = 2;
	take_lock(s, "SHARE ROW EXCLUSIVE");
	stmt_set_tables(s, relname(n->create_trig_stmt->relation));
}

static void set_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	(void)start;
	s->kind = "SET";
	if (!strcmp(n->variable_set_stmt->name ?: "", "lock_timeout"))
		st->lock_timeout_set = 1;
}

static void create_table_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	(void)start;
	create_table(st, s, n->create_stmt);
}

static void create_index_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	create_index(st, s, n->index_stmt, start);
}

static void drop_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	drop(st, s, n->drop_stmt, start);
}

static void alter_table_stmt(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	alter_table(st, s, n->alter_table_stmt, start);
}

/* CREATE TABLE AS and SELECT INTO: a new table, filled from a query. */
static int new_table_from_query(lint_state *st, stmt_info *s, const node *n)
{
	const PgQuery__IntoClause *into;
	if (n->node_case == PG_QUERY__NODE__NODE_SELECT_STMT && n->select_stmt->into_clause)
		into = n->select_stmt->into_clause;
	else if (n->node_case == PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT &&
		 n->create_table_as_stmt->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		into = n->create_table_as_stmt->into;
	else
		return 0;
	const char *table = into ? relname(into->rel) : NULL;
	s->kind = n->node_case == PG_QUERY__NODE__NODE_SELECT_STMT ? "SELECT INTO"
								   : "CREATE TABLE AS";
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
			  ? "COMMENT" : !strcmp(t, "GrantStmt") ? "GRANT" : "SHOW";
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
	PgQuery__Node__NodeCase type;
	void (*fn)(lint_state *st, stmt_info *s, const node *n, size_t start);
} handlers[] = {
	{ PG_QUERY__NODE__NODE_CREATE_STMT, create_table_stmt },
	{ PG_QUERY__NODE__NODE_INDEX_STMT, create_index_stmt },
	{ PG_QUERY__NODE__NODE_DROP_STMT, drop_stmt },
	{ PG_QUERY__NODE__NODE_DROPDB_STMT, dropdb_stmt },
	{ PG_QUERY__NODE__NODE_ALTER_TABLE_STMT, alter_table_stmt },
	{ PG_QUERY__NODE__NODE_RENAME_STMT, rename_stmt },
	{ PG_QUERY__NODE__NODE_UPDATE_STMT, update_stmt },
	{ PG_QUERY__NODE__NODE_DELETE_STMT, delete_stmt },
	{ PG_QUERY__NODE__NODE_INSERT_STMT, insert_stmt },
	{ PG_QUERY__NODE__NODE_TRUNCATE_STMT, truncate_stmt },
	{ PG_QUERY__NODE__NODE_VACUUM_STMT, vacuum_stmt },
	{ PG_QUERY__NODE__NODE_CLUSTER_STMT, cluster_stmt },
	{ PG_QUERY__NODE__NODE_REINDEX_STMT, reindex_stmt },
	{ PG_QUERY__NODE__NODE_TRANSACTION_STMT, transaction_stmt },
	{ PG_QUERY__NODE__NODE_VARIABLE_SET_STMT, set_stmt },
	{ PG_QUERY__NODE__NODE_LOCK_STMT, lock_stmt },
	{ PG_QUERY__NODE__NODE_CREATE_TRIG_STMT, create_trigger_stmt },
	{ PG_QUERY__NODE__NODE_DISCARD_STMT, discard_stmt },
};

static void statement(lint_state *st, stmt_info *s, const node *n, size_t start)
{
	size_t i = 0, count = sizeof(handlers) / sizeof(handlers[0]);
	while (n && i < count && handlers[i].type != n->node_case)
		i++;
	if (n && i < count)
		handlers[i].fn(st, s, n, start);
	else if (!n || !new_table_from_query(st, s, n))
		other_stmt(s, node_type(n));
	if (n && find_call(st, &n->base, unlocks_all))
		stmt_finding(st, s, "releases-migrator-lock", start, "pg_advisory_unlock_all() "
			     "releases dbshift's migrator lock, held by this session: another "
			     "migrator could start while this one runs");
	lock_timeout_rule(st, s, start);
}

/*
 * The parse tree of a statement is walked recursively (by libpg_query's
 * protobuf output, by protobuf-c's reader and by us): a few kB of stack a
 * level.  A script whose estimate is above DEEP is analysed on a thread
 * of its own with DEEP_STACK of stack (reserved, used only as deep as it
 * goes); one above MAX_NESTING is refused before it is parsed rather than
 * allowed to overflow even that.
 */
#define MAX_NESTING 10000
#define DEEP 500
#define DEEP_STACK ((size_t)1 << 30)

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
			size_t w = 1;  /* a word: one level; "+++" is three unary +: each one */
			if (!isalpha((unsigned char)c) && c != '_')
				for (w = 0; i < n && strchr("+-*/<>=~!@#%^&|`?", sql[i]) &&
				     !(sql[i] == '-' && i + 1 < n && sql[i + 1] == '-'); w++)
					i++;
			if (depth < 64) {
				run[depth] += w;
				sum += w;
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
static void keep_spans(const section *sec, const PgQuery__ParseResult *pr)
{
	section *w = (section *)sec;  /* the run's cache, not the script's text */
	if (w->split || strcasestr(w->sql, "copy"))
		return;
	w->span = xcalloc(pr->n_stmts + 1, sizeof(*w->span));
	for (size_t i = 0; i < pr->n_stmts; i++) {
		size_t loc = at_or(pr->stmts[i]->stmt_location, 0);
		size_t len = at_or(pr->stmts[i]->stmt_len, 0);
		w->span[i][0] = loc;
		w->span[i][1] = len ? len : strlen(w->sql + loc);
	}
	w->nspan = pr->n_stmts;
	w->split = 1;
}

/*
 * The unpacked tree lives in an arena freed at once: protobuf-c allocates
 * each message and string apart, and freeing them one by one cost more
 * than the parse.
 */
typedef struct arena_block {
	struct arena_block *next;
	size_t used, size;
	max_align_t data[];
} arena_block;

static void *arena_alloc(void *data, size_t n)
{
	arena_block **head = data;
	size_t align = sizeof(max_align_t);
	n = (n + align - 1) / align * align;
	if (!*head || (*head)->size - (*head)->used < n) {
		size_t size = n > 65536 ? n : 65536;
		arena_block *b = xmalloc(sizeof(*b) + size);
		b->next = *head;
		b->used = 0;
		b->size = size;
		*head = b;
	}
	void *p = (char *)(*head)->data + (*head)->used;
	(*head)->used += n;
	return p;
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p;  /* all at once, in arena_release */
}

static void arena_release(arena_block *b)
{
	while (b) {
		arena_block *next = b->next;
		free(b);
		b = next;
	}
}

static void walk_tree(lint_state *st, const PgQuery__ParseResult *pr, stmt_info **out,
		      size_t *n);

/* A script's parse: its unpacked tree, in its arena. */
typedef struct pg_tree {
	arena_block *arena;
	PgQuery__ParseResult *pr;
} pg_tree;

static void pg_free_tree(void *tree)
{
	pg_tree *t = tree;
	if (t)
		arena_release(t->arena);
	free(t);
}

/* The unpacked parse of sql, or NULL when it does not parse. */
static pg_tree *parse_tree(const char *sql)
{
	PgQueryProtobufParseResult r = pg_query_parse_protobuf(sql);
	if (r.error) {
		pg_query_free_protobuf_parse_result(r);
		return NULL;
	}
	pg_tree *t = xcalloc(1, sizeof(*t));
	ProtobufCAllocator alloc = { arena_alloc, arena_free, &t->arena };
	t->pr = pg_query__parse_result__unpack(&alloc, r.parse_tree.len,
					       (const uint8_t *)r.parse_tree.data);
	pg_query_free_protobuf_parse_result(r);
	if (!t->pr) {
		pg_free_tree(t);
		return NULL;
	}
	return t;
}

/* Parse sec ahead (NULL when it does not parse, or is too deep to parse
 * on this thread: analyze then does it on a deeper stack). */
static void *pg_parse(const section *sec)
{
	size_t at = 0;
	return nesting_estimate(sec->sql, &at) > DEEP ? NULL : parse_tree(sec->sql);
}

/* A deep script's parse and walk, on the thread with the big stack. */
typedef struct deep_call {
	lint_state *st;
	stmt_info **out;
	size_t *n;
	dbs_error *err;
	int rc;
} deep_call;

static int analyze_here(lint_state *st, stmt_info **out, size_t *n, dbs_error *err,
			size_t depth, size_t at);

static void *deep_main(void *arg)
{
	deep_call *c = arg;
	c->rc = analyze_here(c->st, c->out, c->n, c->err, 0, 0);
	return NULL;
}

static int pg_analyze(lint_state *st, stmt_info **out, size_t *n, dbs_error *err)
{
	size_t at = 0, depth = st->tree ? 0 : nesting_estimate(st->sec->sql, &at);
	if (depth <= DEEP || depth > MAX_NESTING)
		return analyze_here(st, out, n, err, depth, at);
	deep_call c = { st, out, n, err, 0 };
	pthread_attr_t attr;
	pthread_t th;
	int started = !pthread_attr_init(&attr) && !pthread_attr_setstacksize(&attr, DEEP_STACK) &&
		      !pthread_create(&th, &attr, deep_main, &c);
	pthread_attr_destroy(&attr);
	if (!started)  /* no stack that deep to be had: refused, not overflowed */
		return too_deep(st, at, err);
	pthread_join(th, NULL);
	return c.rc;
}

/* Parse (unless it was, or is too deep: depth, its deepest point at) and
 * walk st's script on this thread. */
static int analyze_here(lint_state *st, stmt_info **out, size_t *n, dbs_error *err,
			size_t depth, size_t at)
{
	const char *sql = st->sec->sql;
	pg_tree *t = st->tree ? st->tree : depth <= MAX_NESTING ? parse_tree(sql) : NULL;
	if (t) {
		walk_tree(st, t->pr, out, n);
		if (t != st->tree)
			pg_free_tree(t);
		return 0;
	}
	/* it does not parse: say why */
	if (depth > MAX_NESTING || nesting_estimate(sql, &at) > MAX_NESTING)
		return too_deep(st, at, err);
	PgQueryProtobufParseResult r = pg_query_parse_protobuf(sql);
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
		pg_query_free_protobuf_parse_result(r);
		return 0;
	}
	pg_query_free_protobuf_parse_result(r);
	return too_deep(st, at, err);  /* parsed, but deeper than the reader goes */
}

/* One stmt_info per statement of the parse pr. */
static void walk_tree(lint_state *st, const PgQuery__ParseResult *pr, stmt_info **out,
		      size_t *n)
{
	const char *sql = st->sec->sql;
	keep_spans(st->sec, pr);
	for (size_t i = 0; i < pr->n_stmts; i++) {
		const PgQuery__RawStmt *raw = pr->stmts[i];
		size_t loc = at_or(raw->stmt_location, 0);
		size_t len = at_or(raw->stmt_len, 0);
		if (len == 0)
			len = strlen(sql + loc);
		size_t start = loc + sql_skip_space(sql + loc, len);
		*out = xrealloc(*out, (*n + 1) * sizeof(stmt_info));
		stmt_info *s = &(*out)[(*n)++];
		memset(s, 0, sizeof(*s));
		s->file = st->sec->file;
		stmt_locate(st, s, start, &s->line, &s->col);
		s->text = sql_trimmed(sql + loc, len);
		statement(st, s, raw->stmt, start);
	}
}

const lint_dialect lint_postgres = { "postgres", pg_analyze, pg_parse, pg_free_tree };
