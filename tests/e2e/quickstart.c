/* quickstart.c - runs the README quick start as a test: starts the Arith
 * example server, runs the example client against it, checks every line the
 * client prints, reads the debug page, stops the server by pid (SIGTERM,
 * SIGKILL if it hangs) and checks its last line.
 *
 *   quickstart ARITH_SERVER ARITH_CLIENT
 *
 * Exits 0 when all is as the README says, 1 otherwise (with the reason on
 * stderr). Every wait is bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t server_pid = -1;

static void stop_server(void)
{
	if (server_pid <= 0)
		return;
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
	server_pid = -1;
}

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "quickstart: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	stop_server();
	return 1;
}

/* spawn runs argv with stdout (and stderr) on a pipe whose read end is
 * returned in *out. */
static pid_t spawn(char *const argv[], int *out)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

/* read_until reads fd into buf until EOF, until stop (if not NULL) appears,
 * or until timeout_ms passes; returns the length read. */
static size_t read_until(int fd, char *buf, size_t cap, const char *stop,
                         int timeout_ms)
{
	size_t len = 0;
	buf[0] = '\0';
	while (len < cap - 1 && timeout_ms > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 100) == 0) {
			timeout_ms -= 100;
			continue;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (stop && strstr(buf, stop))
			break;
	}
	return len;
}

/* wait_exit waits up to timeout_ms for pid; returns its status or -1. */
static int wait_exit(pid_t pid, int timeout_ms)
{
	int st;
	for (; timeout_ms > 0; timeout_ms -= 20) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int count_lines(const char *text, const char *line)
{
	int n = 0;
	size_t l = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p += l)
		if ((p == text || p[-1] == '\n') && p[l] == '\n')
			n++;
	return n;
}

/* debug_page GETs /debug/rpc from host:port into buf. */
static bool debug_page(const char *hostport, char *buf, size_t cap)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return false;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return false;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	static const char req[] = "GET /debug/rpc HTTP/1.0\r\n\r\n";
	bool ok = write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1);
	if (ok)
		read_until(fd, buf, cap, NULL, 10000);
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	static char sout[4096], cout[8192], page[65536];
	char rpc_addr[128], http_addr[128];
	int sfd, cfd;

	if (argc != 3) {
		fprintf(stderr, "usage: quickstart ARITH_SERVER ARITH_CLIENT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	char *sargv[] = {argv[1], NULL};
	server_pid = spawn(sargv, &sfd);
	if (server_pid < 0)
		return fail("cannot start %s", argv[1]);
	read_until(sfd, sout, sizeof(sout), "\n", 10000);
	if (sscanf(sout, "listening %127s %127s", rpc_addr, http_addr) != 2)
		return fail("server said: %s", sout);

	char *cargv[] = {argv[2], rpc_addr, http_addr, NULL};
	pid_t cpid = spawn(cargv, &cfd);
	if (cpid < 0)
		return fail("cannot start %s", argv[2]);
	read_until(cfd, cout, sizeof(cout), NULL, 30000);
	close(cfd);
	int st = wait_exit(cpid, 10000);
	if (st == -1) {
		kill(cpid, SIGKILL);
		waitpid(cpid, NULL, 0);
		return fail("client hung; it printed:\n%s", cout);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail("client failed; it printed:\n%s", cout);
	fputs(cout, stdout);

	static const char *const want[] = {
		"Arith.Multiply(7, 8) = 56",
		"Arith.Divide(17, 5) = 3 rem 2",
		"Arith.Divide(17, 0) -> RPC_ERR_SERVER error: divide by zero",
		"async Arith.Add(10, 1) = 11",
		"async Arith.Add(20, 2) = 22",
		"async Arith.Add(30, 3) = 33",
		"async Arith.Add(40, 4) = 44",
		"callback: Arith.Multiply = -42",
		"after close: connection is shut down",
		"over HTTP CONNECT: Arith.Multiply(6, 9) = 54",
	};
	int lines = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (count_lines(cout, want[i]) != 1)
			return fail("client output lacks the line: %s", want[i]);
	for (const char *p = cout; *p; p++)
		lines += *p == '\n';
	const char *hostport = strncmp(http_addr, "tcp:", 4) == 0
	                               ? http_addr + 4 : http_addr;
	char dbg[200];
	snprintf(dbg, sizeof(dbg), "debug page: http://%s/debug/rpc", hostport);
	if (count_lines(cout, dbg) != 1)
		return fail("client output lacks the line: %s", dbg);
	if (lines != 11)
		return fail("client printed other lines too:\n%s", cout);

	/* the debug page counts the three products of the client */
	if (!debug_page(hostport, page, sizeof(page)))
		return fail("cannot GET the debug page at %s", hostport);
	if (!strstr(page, "Service Arith\n") ||
	    !strstr(page, "<td align=left font=fixed>Multiply(Args, *int64) "
	                  "error</td>\n\t\t\t<td align=center>3</td>") ||
	    !strstr(page, "<td align=left font=fixed>Add(Args, *int64) "
	                  "error</td>\n\t\t\t<td align=center>4</td>") ||
	    !strstr(page, "<td align=left font=fixed>Divide(Args, *Quotient) "
	                  "error</td>\n\t\t\t<td align=center>2</td>"))
		return fail("unexpected debug page:\n%s", page);

	/* stop the server by pid; it reports its count on the way out */
	kill(server_pid, SIGTERM);
	size_t n = strlen(sout);
	read_until(sfd, sout + n, sizeof(sout) - n, NULL, 10000);
	close(sfd);
	st = wait_exit(server_pid, 10000);
	if (st == -1)
		return fail("server ignored SIGTERM; it printed:\n%s", sout);
	server_pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail("server failed; it printed:\n%s", sout);
	if (count_lines(sout, "Arith.Multiply served 3 calls") != 1)
		return fail("server's last words: %s", sout);
	printf("quickstart: ok\n");
	return 0;
}
