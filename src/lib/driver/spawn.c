/*
 * spawn.c - run a program (pg_dump, pg_restore, psql) with an argv and
 * extra environment, never through a shell, and wait for it.  Its
 * output (stdout and stderr) is captured, for the caller or for the error
 * message; a password goes in the environment (PGPASSWORD), never on the
 * command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/driver.h"

extern char **environ;

int spawn_status(const char *const *argv, const char *const *extra_env, char **out_text,
		 int *exit_code, dbs_error *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return dbs_fail(err, DBS_EFAIL, "cannot run %s: %s", argv[0], strerror(errno));
	/* the environment: ours, plus extra_env (which wins) */
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

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		dbs_fail(err, DBS_EFAIL, "cannot run %s: %s", argv[0], strerror(rc));
		dbs_error_set_hint(err, "install it (Debian: postgresql-client)");
		return DBS_EFAIL;
	}
	strbuf sb;
	strbuf_init(&sb);
	char buf[4096];
	ssize_t r;
	while ((r = read(pipefd[0], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			strbuf_add(&sb, buf, (size_t)r);
	close(pipefd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == ' '))
		sb.buf[--sb.len] = '\0';
	if (!WIFEXITED(status)) {
		dbs_fail(err, DBS_EFAIL, "%s was killed by signal %d", argv[0], WTERMSIG(status));
		strbuf_release(&sb);
		return DBS_EFAIL;
	}
	*exit_code = WEXITSTATUS(status);
	*out_text = strbuf_detach(&sb);
	return 0;
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
