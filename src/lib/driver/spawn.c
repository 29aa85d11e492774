/*
 * spawn.c - run a program (pg_dump, pg_restore, psql) with an argv and
 * extra environment, never through a shell, and wait for it.  Its
 * output (stdout and stderr) is captured, for the caller or for the error
 * message; a password goes in the environment (PGPASSWORD), never on the
 * command line.  A child can also be kept under way (spawn_start): a
 * line read from it, then a word to its stdin, then the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/driver.h"

extern char **environ;

static int unset(const char *var, const char *const *names)
{
	for (size_t i = 0; names && names[i]; i++) {
		size_t n = strlen(names[i]);
		if (!strncmp(var, names[i], n) && var[n] == '=')
			return 1;
	}
	return 0;
}

/* ours but unset_env, plus extra_env (which wins); the strings are
 * borrowed */
static char **child_env(const char *const *extra_env, const char *const *unset_env)
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
		if (!overridden && !unset(environ[i], unset_env))
			envp[m++] = environ[i];
	}
	for (size_t j = 0; j < k; j++)
		envp[m++] = (char *)extra_env[j];
	return envp;
}

/* Keep what o bounds of sb: its tail, or stop (-1) past the bound. */
static int bound(strbuf *sb, spawn_opts *o)
{
	if (!o || !o->max_out || sb->len <= o->max_out)
		return 0;
	if (!o->keep_tail) {
		o->overflowed = 1;
		return -1;
	}
	if (sb->len >= 2 * o->max_out) {  /* moved now and then, not on every read */
		size_t drop = sb->len - o->max_out;
		memmove(sb->buf, sb->buf + drop, o->max_out);
		sb->len = o->max_out;
		sb->buf[sb->len] = '\0';
		o->dropped += drop;
	}
	return 0;
}

/* Read fds to their ends (fd[1] may be -1), fd[k] into sb[k]; with a
 * deadline (a now_ms() time, 0: none), give up at it (1), else 0; past
 * o's bound without keep_tail, -1.  With to_line, stop (2) once sb[0]
 * holds a newline (o's sink is not used then). */
static int read_all(int fd[2], strbuf *sb[2], int64_t deadline, spawn_opts *o, int to_line)
{
	char buf[65536];
	int open = (fd[0] >= 0) + (fd[1] >= 0);
	while (open) {
		if (to_line && memchr(sb[0]->buf, '\n', sb[0]->len))
			return 2;
		struct pollfd p[2];
		int np = 0, map[2];
		for (int k = 0; k < 2; k++)
			if (fd[k] >= 0) {
				p[np] = (struct pollfd){ fd[k], POLLIN, 0 };
				map[np++] = k;
			}
		int wait = 1000;
		if (deadline) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return 1;
			if (left < wait)
				wait = (int)left;
		}
		int pr = poll(p, (nfds_t)np, wait);
		if (pr < 0 && errno != EINTR)
			return 0;
		for (int i = 0; pr > 0 && i < np; i++) {
			if (!p[i].revents)
				continue;
			int k = map[i];
			ssize_t r = read(fd[k], buf, sizeof(buf));
			if (r > 0 && k == 0 && o && o->out_sink && !to_line) {
				if (o->out_sink(o->sink_data, buf, (size_t)r)) {
					o->sink_failed = 1;
					return -1;
				}
			} else if (r > 0) {
				strbuf_add(sb[k], buf, (size_t)r);
				if (bound(sb[k], o))
					return -1;
			} else if (r == 0 || errno != EINTR) {
				fd[k] = -1;  /* the caller closes it */
				open--;
			}
		}
	}
	return 0;
}

static void trim_end(strbuf *sb)
{
	while (sb->len && (sb->buf[sb->len - 1] == '\n' || sb->buf[sb->len - 1] == ' '))
		sb->buf[--sb->len] = '\0';
}

/* A child under way: its pid, the ends of its pipes we hold (-1: closed
 * or none), what it wrote so far. */
struct spawn_child {
	const char *name;    /* argv[0] (borrowed) */
	pid_t pid;
	int in, pipes[2];    /* its stdin; its stdout and stderr (-1: with stdout) */
	int fds[2];          /* those still open for reading (read_all: -1 at end) */
	int split;
	strbuf sb, eb;
	int64_t deadline;
	spawn_opts *o;
};

int spawn_start(const char *const *argv, const char *const *extra_env, spawn_opts *o,
		int with_input, spawn_child **out, dbs_error *err)
{
	int pipefd[2], errfd[2] = { -1, -1 }, infd[2] = { -1, -1 };
	int split = o && o->err_text;
	*out = NULL;
	/* its stdin a socket, so that writing to a child gone is an error
	 * (MSG_NOSIGNAL), never a SIGPIPE */
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return dbs_fail(err, DBS_EFAIL, "cannot run %s: %s", argv[0], strerror(errno));
	if ((split && pipe2(errfd, O_CLOEXEC) < 0) ||
	    (with_input && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, infd) < 0)) {
		int e = errno;
		int all[6] = { pipefd[0], pipefd[1], errfd[0], errfd[1], infd[0], infd[1] };
		for (int k = 0; k < 6; k++)
			if (all[k] >= 0)
				close(all[k]);
		return dbs_fail(err, DBS_EFAIL, "cannot run %s: %s", argv[0], strerror(e));
	}
	char **envp = child_env(extra_env, o ? o->unset_env : NULL);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, split ? errfd[1] : pipefd[1], STDERR_FILENO);
	if (with_input)
		posix_spawn_file_actions_adddup2(&fa, infd[1], STDIN_FILENO);
	else
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
	if (split)
		close(errfd[1]);
	if (with_input)
		close(infd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		if (split)
			close(errfd[0]);
		if (with_input)
			close(infd[0]);
		dbs_fail(err, DBS_EFAIL, "cannot run %s: %s", argv[0], strerror(rc));
		if (!o)
			dbs_error_set_hint(err, "install it (Debian: postgresql-client)");
		return DBS_EFAIL;
	}
	spawn_child *c = xcalloc(1, sizeof(*c));
	c->name = argv[0];
	c->pid = pid;
	c->in = infd[0];
	c->pipes[0] = c->fds[0] = pipefd[0];
	c->pipes[1] = c->fds[1] = split ? errfd[0] : -1;
	c->split = split;
	strbuf_init(&c->sb);
	strbuf_init(&c->eb);
	c->o = o;
	c->deadline = o && o->timeout_ms > 0 ? now_ms() + o->timeout_ms : 0;
	*out = c;
	return 0;
}

/* Stop c (its process group too, with a timeout) after cut: it ran past
 * its deadline (> 0) or wrote more than is kept (< 0). */
static void stop_child(spawn_child *c, int cut)
{
	spawn_opts *o = c->o;
	if (cut > 0) {
		o->timed_out = 1;
		kill(-c->pid, SIGKILL);
		strbuf *sbs[2] = { &c->sb, &c->eb };
		read_all(c->fds, sbs, now_ms() + 1000, NULL, 0);  /* what it wrote last */
	} else if (cut < 0) {  /* it writes more than is kept: it stops here */
		kill(o->timeout_ms > 0 ? -c->pid : c->pid, SIGKILL);
	}
}

void spawn_kill(spawn_child *c)
{
	kill(c->o && c->o->timeout_ms > 0 ? -c->pid : c->pid, SIGKILL);
}

int spawn_read_line(spawn_child *c, char **line)
{
	strbuf *sbs[2] = { &c->sb, &c->eb };
	int cut = read_all(c->fds, sbs, c->deadline, c->o, 1);
	if (cut != 2) {
		if (cut)
			stop_child(c, cut);
		return -1;
	}
	char *nl = memchr(c->sb.buf, '\n', c->sb.len);
	size_t n = (size_t)(nl - c->sb.buf) + 1;
	*line = xstrndup(c->sb.buf, n - 1);
	memmove(c->sb.buf, c->sb.buf + n, c->sb.len - n + 1);
	c->sb.len -= n;
	return 0;
}

int spawn_say(spawn_child *c, const char *text)
{
	size_t n = strlen(text), done = 0;
	while (c->in >= 0 && done < n) {
		ssize_t w = send(c->in, text + done, n - done, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		done += (size_t)w;
	}
	if (c->in >= 0)
		close(c->in);
	c->in = -1;
	if (c->o && c->o->timeout_ms > 0)  /* its time counts from what it was asked */
		c->deadline = now_ms() + c->o->timeout_ms;
	return c->in < 0 && done == n ? 0 : -1;
}

int spawn_finish(spawn_child *c, char **out_text, int *exit_code, dbs_error *err)
{
	spawn_opts *o = c->o;
	if (c->in >= 0)
		close(c->in);  /* nothing more to say: its stdin ends */
	strbuf *sbs[2] = { &c->sb, &c->eb };
	if (o && o->out_sink && c->sb.len) {  /* what came after the line read */
		if (o->out_sink(o->sink_data, c->sb.buf, c->sb.len))
			o->sink_failed = 1;
		strbuf_reset(&c->sb);
	}
	int cut = o && o->sink_failed ? -1 : read_all(c->fds, sbs, c->deadline, o, 0);
	if (cut)
		stop_child(c, cut);
	close(c->pipes[0]);
	if (c->pipes[1] >= 0)
		close(c->pipes[1]);
	int status = 0;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	trim_end(&c->sb);
	trim_end(&c->eb);
	if (c->split)
		*o->err_text = strbuf_detach(&c->eb);
	else
		strbuf_release(&c->eb);
	*out_text = strbuf_detach(&c->sb);
	const char *name = c->name;
	free(c);
	if (o && o->timed_out)
		return dbs_fail(err, DBS_EFAIL, "%s ran past its timeout of %d ms and was killed, "
				"with its process group", name, o->timeout_ms);
	if (o && o->overflowed)
		return dbs_fail(err, DBS_EFAIL, "%s wrote more than %zu MB and was stopped",
				name, o->max_out >> 20);
	if (o && o->sink_failed)
		return dbs_fail(err, DBS_EFAIL, "%s was stopped: what it wrote could not be kept",
				name);
	if (!WIFEXITED(status))
		return dbs_fail(err, DBS_EFAIL, "%s was killed by signal %d", name,
				WTERMSIG(status));
	*exit_code = WEXITSTATUS(status);
	return 0;
}

int spawn_full(const char *const *argv, const char *const *extra_env, spawn_opts *o,
	       char **out_text, int *exit_code, dbs_error *err)
{
	spawn_child *c = NULL;
	int rc = spawn_start(argv, extra_env, o, 0, &c, err);
	return rc ? rc : spawn_finish(c, out_text, exit_code, err);
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
