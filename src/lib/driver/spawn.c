/*
 * spawn.c - run a program (pg_dump, pg_restore, psql) with an argv and
 * extra environment, never through a shell, and wait for it.  Its
 * output (stdout and stderr) is captured, for the caller or for the error
 * message; a password goes in the environment (PGPASSWORD), never on the
 * command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/driver.h"

extern char **environ;

/* ours, plus extra_env (which wins); the strings are borrowed */
static char **child_env(const char *const *extra_env)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	while (extra_env && extra_env[k])
		k++;
	char **envp = xcalloc(n + k + 1, sizeof(char *));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		int overridden = 0;
		for (size_t j = 0; j < k && !overridden; j++) {
			size_t len = strcspn(extra_env[j], "=");
			overridden = !strncmp(environ[i], extra_env[j], len + 1);
		}
		if (!overridden)
			envp[m++] = environ[i];
	}
	for (size_t j = 0; j < k; j++)
		envp[m++] = (char *)extra_env[j];
	return envp;
}

/* Read fd to its end into sb; with a deadline (ms > 0), give up at it
 * (1), else 0.  *deadline is a now_ms() time. */
static int read_all(int fd, strbuf *sb, int64_t deadline)
{
	char buf[4096];
	for (;;) {
		if (deadline) {
			int64_t left = deadline - now_ms();
			struct pollfd p = { fd, POLLIN, 0 };
			if (left <= 0)
				return 1;
			int pr = poll(&p, 1, left > 1000 ? 1000 : (int)left);
			if (pr < 0 && errno != EINTR)
				return 0;
			if (pr <= 0)
				continue;
		}
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r > 0)
			strbuf_add(sb, buf, (size_t)r);
		else if (r == 0 || errno != EINTR)
			return 0;
	}
}

int spawn_full(const char *const *argv, const char *const *extra_env, spawn_opts *o,
	       char **out_text, int *exit_code, dbs_error *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return dbs_fail(err, DBS_EFAIL, "cannot run %s: %s", argv[0], strerror(errno));
	char **envp = child_env(extra_env);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (o && o->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	if (o && o->timeout_ms > 0) {
		/* its own process group, so that a timeout kills its children too */
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
		posix_spawnattr_setpgroup(&attr, 0);
	}
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		dbs_fail(err, DBS_EFAIL, "cannot run %s: %s", argv[0], strerror(rc));
		if (!o)
			dbs_error_set_hint(err, "install it (Debian: postgresql-client)");
		return DBS_EFAIL;
	}
	strbuf sb;
	strbuf_init(&sb);
	int64_t deadline = o && o->timeout_ms > 0 ? now_ms() + o->timeout_ms : 0;
	if (read_all(pipefd[0], &sb, deadline)) {
		o->timed_out = 1;
		kill(-pid, SIGKILL);
		read_all(pipefd[0], &sb, now_ms() + 1000);  /* what it wrote last */
	}
	close(pipefd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == ' '))
		sb.buf[--sb.len] = '\0';
	if (o && o->timed_out) {
		dbs_fail(err, DBS_EFAIL, "%s ran past its timeout of %d ms and was killed, with "
			 "its process group", argv[0], o->timeout_ms);
		*out_text = strbuf_detach(&sb);
		return DBS_EFAIL;
	}
	if (!WIFEXITED(status)) {
		dbs_fail(err, DBS_EFAIL, "%s was killed by signal %d", argv[0], WTERMSIG(status));
		*out_text = strbuf_detach(&sb);
		return DBS_EFAIL;
	}
	*exit_code = WEXITSTATUS(status);
	*out_text = strbuf_detach(&sb);
	return 0;
}

int spawn_status(const char *const *argv, const char *const *extra_env, char **out_text,
		 int *exit_code, dbs_error *err)
{
	char *out = NULL;
	int rc = spawn_full(argv, extra_env, NULL, &out, exit_code, err);
	if (rc)
		free(out);
	else
		*out_text = out;
	return rc;
}

int spawn_run(const char *const *argv, const char *const *extra_env, char **out_text,
	      dbs_error *err)
{
	char *out = NULL;
	int code = 0;
	int rc = spawn_status(argv, extra_env, &out, &code, err);
	if (!rc && code != 0) {
		rc = dbs_fail(err, DBS_EFAIL, "%s failed (exit %d)", argv[0], code);
		if (*out)
			dbs_error_set_detail(err, "%s", out);
	}
	if (!rc && out_text)
		*out_text = out;
	else
		free(out);
	return rc;
}
