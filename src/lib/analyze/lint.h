/*
 * lint.h - the safety analysis shared by lint, plan and migrate: rules,
 * findings per statement, a small schema model, and the two dialects
 * (PostgreSQL through libpg_query, SQLite through its own tokenizer rules).
 */
#ifndef DBSHIFT_LINT_H
#define DBSHIFT_LINT_H

#include <jansson.h>

#include "driver/driver.h"
#include "source/source.h"

typedef struct rule {
	const char *id;      /* stable: documented in docs/rules.md */
	dbs_level level;
	const char *fix;     /* the safer alternative */
} rule;

const rule *rule_find(const char *id);

typedef struct finding {
	const rule *rule;
	char *message;
	int line, col;       /* in the statement's file */
	char *reason;        /* set when suppressed with -- dbshift:allow */
	const char *fix;     /* this finding's own fix (a framework's terms), or
				NULL: the rule's */
} finding;

/* The fix to show for f: its own, else its rule's. */
#define FINDING_FIX(f) ((f)->fix ? (f)->fix : (f)->rule->fix)

typedef struct stmt_info {
	const char *file;
	int line, col;       /* where the statement starts */
	char *text;          /* the statement, trimmed */
	const char *kind;    /* "CREATE INDEX", "ALTER TABLE", ... */
	const char *lock;    /* lock mode taken, or NULL */
	char *tables;        /* "a, b" or NULL */
	int rewrites, scans, no_tx_only;
	int tx_control;      /* BEGIN, COMMIT, ROLLBACK... (not savepoints) */
	int score;
	dbs_level level;     /* worst unsuppressed finding, green if none */
	finding *f;
	size_t nf;
} stmt_info;

typedef struct lint_migration {
	const migration *m;
	const section *sec;  /* what was analysed: its up, or its down */
	stmt_info *s;
	size_t ns;
	int score;
	dbs_level level;
	int irreversible;    /* its down is known and holds no statement */
} lint_migration;

/* Columns' types of the tables seen so far, for ALTER COLUMN TYPE. */
typedef struct model_col {
	char *column, *type;  /* type like "varchar(20)", "int4" */
} model_col;

typedef struct model_table {
	char *name;           /* NULL: a free slot */
	int gone;             /* a freed slot, kept for probing */
	int complete;         /* created or dropped here: cols are all there is */
	int created;          /* created by a migration linted (not applied) in
			       * this run: it has no rows yet */
	model_col *cols;
	size_t n;
} model_table;

/* The column types the migrations so far gave each table: a hash of
 * tables (open addressing), each with its few columns, so that a history
 * of thousands of tables costs no more per statement than one of ten. */
typedef struct lint_model {
	model_table *t;
	size_t cap, used;     /* slots, and slots named or gone */
} lint_model;

const char *model_type(const lint_model *mm, const char *table, const char *column);
void model_set(lint_model *mm, const char *table, const char *column, const char *type);
void model_drop_table(lint_model *mm, const char *table);
/* A pending migration created table: the next ones find it empty. */
void model_mark_created(lint_model *mm, const char *table);
/* Did the migrations linted so far create or drop table, so that the
 * model holds all its columns?  When not, the database knows better. */
int model_knows(const lint_model *mm, const char *table);
/* The table with all its columns when the model knows them, else NULL. */
const model_table *model_table_of(const lint_model *mm, const char *table);
void model_rename(lint_model *mm, const char *table, const char *column, const char *to);
void model_release(lint_model *mm);

/* The database lint may ask (function volatility), or none. */
typedef struct lint_db {
	const db_driver *driver;  /* NULL: no database */
	db_conn *conn;
	int lock_timeout_ms;      /* the project's lock_timeout (0: none) */
	const char *exclude;      /* rules the project never reports (words), or NULL */
	int pg_version;           /* the major version it runs on (0: a current one) */
	int one_plan;             /* the migrations run one after another (a
				   * plan, the pending ones): a table one creates
				   * is empty for the next */
} lint_db;

/* Per-migration state while its statements are analyzed. */
typedef struct lint_state {
	const lint_db *db;      /* NULL: no database */
	lint_model *model;
	const migration *m;
	const section *sec;
	char **new_tables;      /* created earlier in this migration */
	size_t nnew;
	int lock_timeout_set;
	int one_plan;           /* lint_db's */
	const char *exclude;    /* lint_db's */
	int pg_version;         /* lint_db's (0: a current one) */
	char **checks;          /* "table\tconstraint\tcolumn\tvalidated" */
	size_t nchecks;
	int record_only;        /* applied migration: update the model only */
	void *tree;             /* the dialect's parse of sec, made ahead, or NULL */
	/* stmt_locate's last place in sec (line 0: none yet): statements are
	 * located front to back, each from the one before */
	size_t at_off;
	int at_line, at_col;
} lint_state;

int lint_is_new_table(const lint_state *st, const char *table);
void lint_add_new_table(lint_state *st, const char *table);

/* Add a finding of rule id to s at byte offset off of the section. */
void stmt_finding(lint_state *st, stmt_info *s, const char *id, size_t off,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void stmt_set_tables(stmt_info *s, const char *table);
void stmt_locate(lint_state *st, stmt_info *s, size_t off, int *line, int *col);

/*
 * A dialect analyzes one section: appends to *out (realloc'd, *n counts)
 * one stmt_info per statement.  A script that does not parse yields one
 * statement with a syntax-error finding.
 */
typedef struct lint_dialect {
	const char *name;
	int (*analyze)(lint_state *st, stmt_info **out, size_t *n, dbs_error *err);
	/* Parse sec ahead, on another thread (NULL when it does not parse:
	 * analyze then says why), for analyze's st->tree; free_tree frees
	 * one.  NULL: the dialect parses in analyze. */
	void *(*parse)(const section *sec);
	void (*free_tree)(void *tree);
} lint_dialect;

extern const lint_dialect lint_postgres;
extern const lint_dialect lint_sqlite;

/* The whole analysis: what lint renders and migrate judges. */
struct dbs_lint {
	const lint_dialect *dialect;
	lint_migration *mig;
	size_t n;
	char **warnings;
	size_t nwarnings;
	int score;              /* summed over every migration */
	int top_score;          /* of the riskiest migration: its band is the risk */
	dbs_level worst;
	lint_model model;
	lint_db db;             /* driver NULL: none */
	migration *owned;       /* files read for dbs_lint_files */
	size_t nowned;
	int shared;             /* holders beyond the first: dbs_lint_free drops one */
};

/* The dialect of a database's driver (PostgreSQL's when d is NULL). */
const lint_dialect *lint_dialect_for(const db_driver *d);

/* Analyze migrations ms[0..n) after recording applied ones (may be NULL):
 * the up of each, or its down where down[i] (down may be NULL). */
int lint_run(dbs_lint **out, const lint_dialect *d, const lint_db *db,
	     const migration *const *applied, size_t napplied, const migration *const *ms,
	     const int *down, size_t n, dbs_error *err);

/* The one risk verdict, worded the same everywhere: "low", "medium" or
 * "high", from the score of the riskiest migration, raised to "medium" by
 * a yellow finding and to "high" by a red one. */
const char *risk_band(dbs_level worst, int top_score);
/* What to do about a band, in one line. */
const char *risk_advice(const char *band);
/* "file:line:col [rule] message" lines of findings above level (at most
 * max, then "... and N more"). */
char *lint_findings_above(const dbs_lint *l, dbs_level level, size_t max);
/* Input error when sec (of m, a transactional migration) has a statement
 * that cannot run inside a transaction (CREATE INDEX CONCURRENTLY...).
 * A section that passed is not analysed again (sec->tx_checked). */
int lint_check_transaction(const lint_dialect *d, const migration *m, section *sec,
			   dbs_error *err);
/* One statement as JSON (for lint and plan). */
json_t *lint_statement_json(const stmt_info *s);
/* Append v (taken) to sb as json_dumps writes it with JSON_INDENT(2) at
 * depth levels into a document: big documents are written a part at a
 * time, never whole in jansson. */
void add_json_at(strbuf *sb, json_t *v, int depth);
/* "a, b" (or NULL) as the JSON array ["a", "b"] (or []). */
json_t *lint_name_list(const char *names);
/* An input error (DBS_EINPUT) at the first finding of rule in l, or 0:
 * SQL a framework wrote that does not parse is no risk to weigh. */
int lint_refuse_rule(const dbs_lint *l, const char *rule, const char *who, dbs_error *err);
/* The analysis of section sec (a migration's up or down) in l, or NULL. */
const lint_migration *lint_find(const dbs_lint *l, const section *sec);

#endif
