/*
 * report.h - JSON pieces shared by the reports of every command.
 */
#ifndef DBSHIFT_REPORT_H
#define DBSHIFT_REPORT_H

#include <jansson.h>

#include "internal.h"

/* {"message", "detail", "hint", "sqlstate", "file", "line", "col", "statement"} */
json_t *report_error(const dbs_error *err);
/* The steps of a plan, with their statements' analysis when there is one. */
json_t *report_plan_steps(const dbs_plan *plan);
/* {"worst", "score", "top_score", "band"} of an analysis. */
json_t *report_risk(const dbs_lint *l);
/* Indented JSON text of doc, which it consumes; caller frees. */
char *report_dump(json_t *doc);

#endif
