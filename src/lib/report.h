/*
 * report.h - JSON pieces shared by the reports of every command.
 */
#ifndef DBSHIFT_REPORT_H
#define DBSHIFT_REPORT_H

#include <jansson.h>

#include "internal.h"

/* {"message", "detail", "hint", "sqlstate", "file", "line", "col", "statement"} */
json_t *report_error(const dbs_error *err);

#endif
