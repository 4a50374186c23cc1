/* peer.c - running peer programs from tests (sup_peer.h).
 *
 * The child gets its input from an unlinked temporary file rather than a
 * pipe, so a peer that prints before it has read everything cannot
 * deadlock against us; its stdout is read through a pipe with poll, so a
 * hung peer is killed at its deadline. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sup_peer.h"

const char *sup_peer_path(const char *var)
{
	const char *p = getenv(var);

	return p != NULL && p[0] != '\0' ? p : NULL;
}

static void peer_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* peer_exec replaces the child with prog args (never returns). */
static void peer_exec(const char *prog, const char *const args[])
{
	const char *argv[32];
	size_t n = 0;

	argv[n++] = prog;
	while (args != NULL && args[n - 1] != NULL && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	execv(prog, (char *const *)argv);
	_exit(127);
}

char *sup_peer_run(const char *prog, const char *const args[], const void *in,
                   size_t inlen, int timeout_s, size_t *outlen, char *err,
                   size_t errlen)
{
	time_t deadline = time(NULL) + timeout_s;
	FILE *tmp = tmpfile();
	char *out = NULL, *bigger;
	size_t cap = 0, n = 0;
	int pipefd[2], status = 0;
	pid_t pid;

	if (tmp == NULL || (inlen > 0 && fwrite(in, 1, inlen, tmp) != inlen) ||
	    fflush(tmp) != 0 || pipe(pipefd) != 0) {
		peer_msg(err, errlen, "%s: cannot set up: %s", prog,
		         strerror(errno));
		if (tmp != NULL)
			fclose(tmp);
		return NULL;
	}
	rewind(tmp);
	pid = fork();
	if (pid == 0) {
		dup2(fileno(tmp), 0);
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		peer_exec(prog, args);
	}
	close(pipefd[1]);
	fclose(tmp);
	if (pid < 0) {
		peer_msg(err, errlen, "%s: fork: %s", prog, strerror(errno));
		close(pipefd[0]);
		return NULL;
	}
	for (;;) {
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		ssize_t got;

		if (time(NULL) > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pipefd[0]);
			free(out);
			peer_msg(err, errlen, "%s: timed out after %d s", prog,
			         timeout_s);
			return NULL;
		}
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (cap - n < 4096) {
			cap = cap * 2 + 4096;
			bigger = realloc(out, cap + 1);
			if (bigger == NULL)
				abort();
			out = bigger;
		}
		got = read(pipefd[0], out + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(pipefd[0]);
	if (out == NULL && (out = malloc(1)) == NULL)
		abort();
	out[n] = '\0';
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		peer_msg(err, errlen, "%s %s: exited with status %d", prog,
		         args != NULL && args[0] != NULL ? args[0] : "",
		         status);
		free(out);
		return NULL;
	}
	if (outlen != NULL)
		*outlen = n;
	return out;
}

bool sup_peer_start(sup_peer *p, const char *prog, const char *const args[])
{
	int in[2], out[2];
	size_t n;

	if (pipe(in) != 0)
		return false;
	if (pipe(out) != 0) {
		close(in[0]);
		close(in[1]);
		return false;
	}
	p->pid = fork();
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		peer_exec(prog, args);
	}
	close(in[0]);
	close(out[1]);
	p->in_fd = in[1];
	if (p->pid < 0) {
		close(in[1]);
		close(out[0]);
		return false;
	}
	strcpy(p->addr, "tcp:");
	n = 4;
	while (n < sizeof p->addr - 1 && read(out[0], p->addr + n, 1) == 1 &&
	       p->addr[n] != '\n')
		n++;
	p->addr[n] = '\0';
	close(out[0]);
	if (n > 4)
		return true;
	sup_peer_stop(p);
	return false;
}

bool sup_peer_stop(sup_peer *p)
{
	int status = 0;
	pid_t got;

	close(p->in_fd);
	do
		got = waitpid(p->pid, &status, 0);
	while (got < 0 && errno == EINTR);
	return got == p->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
