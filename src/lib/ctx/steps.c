/*
 * steps.c - the words of [release] steps and rollback_steps: checked when
 * the config is read (config.c), read again by the release (release.c);
 * and the lookup of a [hook "NAME"] by its name.
 *
 *   steps          = doctor backup rehearse assess migrate[:expand|:contract]
 *                    data verify assert health hook:NAME
 *   rollback_steps = doctor backup rehearse assess rollback verify assert
 *                    health hook:NAME
 *   either, also   files:NAME settings:NAME dotenv:NAME bucket:NAME mail:NAME
 *                  (a [KIND "NAME"] section; in rollback_steps, the step
 *                  undoes what it did in the release being rolled back)
 *
 * Each word once; non_critical names the steps whose failure is recorded
 * and passed (a hook step is also non-critical when its hook says
 * critical = false).
 */
#include <stdlib.h>
#include <string.h>

#include "ctx/ctx.h"

static const struct {
	const char *word;
	step_kind kind;
	int where;   /* 1: steps, 2: rollback_steps, 3: both */
} builtins[] = {
	{ "doctor", STEP_DOCTOR, 3 },
	{ "backup", STEP_BACKUP, 3 },
	{ "assess", STEP_ASSESS, 3 },
	{ "migrate", STEP_MIGRATE, 1 },
	{ "migrate:expand", STEP_MIGRATE, 1 },
	{ "migrate:contract", STEP_MIGRATE, 1 },
	{ "data", STEP_DATA, 1 },
	{ "verify", STEP_VERIFY, 3 },
	{ "assert", STEP_ASSERT, 3 },
	{ "rehearse", STEP_REHEARSE, 3 },
	{ "health", STEP_HEALTH, 3 },
	{ "rollback", STEP_ROLLBACK, 2 },
};
#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

dbs_hook *hook_find(dbs_hook *hooks, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(hooks[i].name) == len && !strncmp(hooks[i].name, name, len))
			return &hooks[i];
	return NULL;
}

void steps_free(release_step *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].word);
	free(s);
}

/* Is word w[0..n) among the words of list? */
static int listed(const char *list, const char *w, size_t n)
{
	size_t k;
	for (const char *p = list ? list : ""; (k = list_word(&p)); p += k)
		if (k == n && !strncmp(p, w, n))
			return 1;
	return 0;
}

static int step_word(const char *p, size_t n, int rollback, const dbs_hook *hooks,
		     size_t nhooks, const dbs_section *secs, size_t nsecs, release_step *s,
		     char **why)
{
	memset(s, 0, sizeof(*s));
	s->word = xstrndup(p, n);
	s->critical = 1;
	const char *colon = memchr(p, ':', n);
	size_t kn = colon ? (size_t)(colon - p) : 0;
	if (colon && section_kind_known(p, kn)) {
		s->section = section_find(secs, nsecs, p, kn, colon + 1, n - kn - 1);
		if (!s->section) {
			*why = xprintf("step '%s' names [%.*s \"%.*s\"], which is not defined",
				       s->word, (int)kn, p, (int)(n - kn - 1), colon + 1);
			return -1;
		}
		s->kind = STEP_MOVE;
		return 0;
	}
	if (n > 5 && !strncmp(p, "hook:", 5)) {
		const dbs_hook *h = hook_find((dbs_hook *)hooks, nhooks, p + 5, n - 5);
		if (!h) {
			*why = xprintf("step '%s' names hook '%.*s', which is not defined", s->word,
				       (int)n - 5, p + 5);
			return -1;
		}
		s->kind = STEP_HOOK;
		s->hook = h;
		s->critical = h->critical;
		return 0;
	}
	for (size_t i = 0; i < NBUILTINS; i++)
		if (strlen(builtins[i].word) == n && !strncmp(builtins[i].word, p, n)) {
			if (!(builtins[i].where & (rollback ? 2 : 1))) {
				*why = xprintf("step '%s' cannot be in %s", s->word,
					       rollback ? "rollback_steps" : "steps");
				return -1;
			}
			s->kind = builtins[i].kind;
			s->phase = n > 8 ? s->word + 8 : NULL;  /* after "migrate:" */
			return 0;
		}
	*why = xprintf("unknown step '%s'", s->word);
	return -1;
}

int steps_parse(const char *value, int rollback, const dbs_hook *hooks, size_t nhooks,
		const dbs_section *secs, size_t nsecs, const char *non_critical,
		release_step **out, size_t *nout, char **why)
{
	release_step *s = NULL;
	size_t n = 0, k;
	int rolls = 0;
	*why = NULL;
	for (const char *p = value ? value : ""; (k = list_word(&p)); p += k) {
		for (size_t i = 0; i < n; i++)
			if (strlen(s[i].word) == k && !strncmp(s[i].word, p, k)) {
				*why = xprintf("step '%.*s' is listed twice", (int)k, p);
				steps_free(s, n);
				return -1;
			}
		s = xrealloc(s, (n + 1) * sizeof(*s));
		if (step_word(p, k, rollback, hooks, nhooks, secs, nsecs, &s[n], why)) {
			steps_free(s, n + 1);
			return -1;
		}
		if (listed(non_critical, p, k))
			s[n].critical = 0;
		rolls += s[n].kind == STEP_ROLLBACK;
		n++;
	}
	if (!n || (rollback && !rolls)) {
		*why = xstrdup(!n ? "no steps" : "rollback_steps has no 'rollback' step");
		steps_free(s, n);
		return -1;
	}
	*out = s;
	*nout = n;
	return 0;
}

int non_critical_check(const char *value, const char *steps, const char *rollback_steps,
		       char **why)
{
	size_t k;
	for (const char *p = value ? value : ""; (k = list_word(&p)); p += k)
		if (!listed(steps, p, k) && !listed(rollback_steps, p, k)) {
			*why = xprintf("non_critical names '%.*s', which is not a step", (int)k, p);
			return -1;
		}
	return 0;
}
