/* transport.c - address strings, dialing and listening.
 *
 * An address is "tcp:HOST:PORT", "unix:PATH" or the tcp shorthand
 * "HOST:PORT" ("tls:HOST:PORT" dials and listens as tcp: TLS is the
 * client's and the listener's business, tls.c); an IPv6 HOST is written in
 * brackets ("tcp:[::1]:0"). Every socket made here is close-on-exec; tcp
 * sockets get TCP_NODELAY (the RPC traffic is many small request/response
 * frames), dialed ones SO_KEEPALIVE unless asked not to (a peer that vanished
 * ends the connection instead of leaving its calls waiting; the server turns it
 * on for accepted ones), and listeners SO_REUSEADDR. A dial never waits without
 * bound: tcp connects are non-blocking and polled, unix ones (which block while
 * the listener's backlog is full) are bounded with SO_SNDTIMEO, which Linux
 * applies to connect. A listener reports the address it actually bound, with
 * the kernel's port when port 0 was asked, in the same syntax, so the string
 * can be handed to a client as is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "transport.h"

enum { TRANSPORT_TCP, TRANSPORT_UNIX };

/* A parsed address. host and port point into buf (or at "" for an empty
 * host); path points into the caller's string. */
typedef struct transport_addr {
	int kind;
	char buf[512];
	const char *host;
	const char *port;
	const char *path;
} transport_addr;

/* transport_error makes the RPC_ERR_IO error of a failed dial or listen:
 * "rpc: OP ADDRESS: strerror(errnum)", with errnum kept for
 * rpc_error_errno. */
static rpc_error *transport_error(const char *op, const char *address,
                                  int errnum)
{
	char *what = NULL;
	if (asprintf(&what, "rpc: %s %s", op, address) < 0)
		return rpci_error_errno(errnum, op);
	rpc_error *err = rpci_error_errno(errnum, what);
	free(what);
	return err;
}

static rpc_error *transport_parse(const char *address, transport_addr *a)
{
	if (address == NULL)
		return rpci_error(RPC_ERR_INVALID, "rpc: address is NULL");
	memset(a, 0, sizeof(*a));
	if (strncmp(address, "unix:", 5) == 0) {
		a->kind = TRANSPORT_UNIX;
		a->path = address + 5;
		if (a->path[0] == '\0' ||
		    strlen(a->path) >=
		        sizeof(((struct sockaddr_un *)0)->sun_path))
			return rpci_error(RPC_ERR_INVALID,
			                  "rpc: bad unix socket path: %s",
			                  address);
		return NULL;
	}
	a->kind = TRANSPORT_TCP;
	const char *hp = address;
	if (strncmp(hp, "tcp:", 4) == 0 || strncmp(hp, "tls:", 4) == 0)
		hp += 4;
	if (strlen(hp) >= sizeof(a->buf))
		return rpci_error(RPC_ERR_INVALID, "rpc: address too long");
	strcpy(a->buf, hp);
	char *s = a->buf;
	char *colon;
	if (s[0] == '[') {
		char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			goto bad;
		*close = '\0';
		a->host = s + 1;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto bad;
		/* an unbracketed IPv6 literal has several colons: refuse it */
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			goto bad;
		a->host = s;
	}
	*colon = '\0';
	a->port = colon + 1;
	if (a->port[0] == '\0' ||
	    strspn(a->port, "0123456789") != strlen(a->port) ||
	    strtoul(a->port, NULL, 10) > 65535)
		goto bad;
	return NULL;
bad:
	return rpci_error(RPC_ERR_INVALID, "rpc: bad address: %s", address);
}

bool rpci_transport_host_port(const char *address, char *host, size_t hcap,
                              char *port, size_t pcap)
{
	transport_addr a;
	rpc_error *err = transport_parse(address, &a);

	if (err != NULL) {
		rpc_error_free(err);
		return false;
	}
	if (a.kind != TRANSPORT_TCP || strlen(a.host) >= hcap ||
	    strlen(a.port) >= pcap)
		return false;
	strcpy(host, a.host);
	strcpy(port, a.port);
	return true;
}

static void transport_tcp_opts(int fd)
{
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void rpci_transport_keepalive(int fd, int secs)
{
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof(secs));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &secs, sizeof(secs));
}

/* transport_keepalive turns keepalive on with Go's net.Dialer timing: the
 * first probe after TRANSPORT_KEEPALIVE_S idle seconds, then one every
 * TRANSPORT_KEEPALIVE_S seconds, the system's count of probes (Linux: 9),
 * so a vanished peer is noticed in about 2.5 minutes instead of 2 hours. */
#define TRANSPORT_KEEPALIVE_S 15

static void transport_keepalive(int fd)
{
	rpci_transport_keepalive(fd, TRANSPORT_KEEPALIVE_S);
}

static rpc_error *transport_timeout(const char *address, int timeout_ms)
{
	return rpci_error(RPC_ERR_TIMEOUT,
	                  "rpc: dial %s: connect timed out after %d ms",
	                  address, timeout_ms);
}

static rpc_error *transport_dial_unix(const char *address, const char *path,
                                      int64_t deadline, int timeout_ms, int *fd)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return rpci_error_errno(errno, "rpc: socket");
	if (deadline != INT64_MAX) {
		int left = rpci_ms_left(deadline);
		struct timeval tv = {.tv_sec = left / 1000,
		                     .tv_usec = (left % 1000) * 1000};
		(void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	int r;
	do
		r = connect(s, (struct sockaddr *)&sun, sizeof(sun));
	while (r < 0 && errno == EINTR && rpci_ms_left(deadline) != 0);
	if (r < 0) {
		int e = errno;
		close(s);
		if (e == EAGAIN || e == EINPROGRESS || e == EINTR)
			return transport_timeout(address, timeout_ms);
		return transport_error("dial", address, e);
	}
	struct timeval zero = {0};
	(void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof(zero));
	*fd = s;
	return NULL;
}

/* transport_connect connects the non-blocking socket s to ai before
 * deadline and makes it blocking again. Returns 0, an errno, or ETIMEDOUT
 * when the deadline passed. */
static int transport_connect(int s, const struct addrinfo *ai, int64_t deadline)
{
	int r = connect(s, ai->ai_addr, ai->ai_addrlen);
	if (r < 0 && errno != EINPROGRESS && errno != EINTR)
		return errno;
	if (r < 0) {
		struct pollfd p = {.fd = s, .events = POLLOUT};
		int n, e = 0;
		socklen_t len = sizeof(e);
		do
			n = poll(&p, 1, rpci_ms_left(deadline));
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return errno;
		if (n == 0)
			return ETIMEDOUT;
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			return errno;
		if (e != 0)
			return e;
	}
	int flags = fcntl(s, F_GETFL);
	if (flags < 0 || fcntl(s, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return errno;
	return 0;
}

rpc_error *rpci_transport_dial(const char *address, int *fd)
{
	return rpci_transport_dial_opts(address, 0, true, fd);
}

rpc_error *rpci_transport_dial_opts(const char *address, int timeout_ms,
                                    bool keepalive, int *fd)
{
	transport_addr a;
	rpc_error *err = transport_parse(address, &a);
	if (err != NULL)
		return err;
	if (timeout_ms == 0)
		timeout_ms = RPC_DEFAULT_DIAL_TIMEOUT_MS;
	int64_t deadline = rpci_deadline_ns(timeout_ms);
	if (a.kind == TRANSPORT_UNIX)
		return transport_dial_unix(address, a.path, deadline,
		                           timeout_ms, fd);

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	/* an empty host dials the local system, as Go does */
	const char *host = a.host[0] == '\0' ? "localhost" : a.host;
	int gai = getaddrinfo(host, a.port, &hints, &res);
	if (gai == EAI_NONAME || gai == EAI_ADDRFAMILY || gai == EAI_FAMILY) {
		/* AI_ADDRCONFIG hides loopback-only families; retry without */
		hints.ai_flags = AI_NUMERICSERV;
		gai = getaddrinfo(host, a.port, &hints, &res);
	}
	if (gai != 0)
		return rpci_error(RPC_ERR_IO, "rpc: dial %s: %s", address,
		                  gai_strerror(gai));
	int last = ECONNREFUSED;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int s = socket(ai->ai_family,
		               ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		               ai->ai_protocol);
		if (s < 0) {
			last = errno;
			continue;
		}
		int r = transport_connect(s, ai, deadline);
		if (r == 0) {
			transport_tcp_opts(s);
			if (keepalive)
				transport_keepalive(s);
			freeaddrinfo(res);
			*fd = s;
			return NULL;
		}
		last = r;
		close(s);
		if (r == ETIMEDOUT && rpci_ms_left(deadline) == 0)
			break;
	}
	freeaddrinfo(res);
	if (last == ETIMEDOUT && rpci_ms_left(deadline) == 0)
		return transport_timeout(address, timeout_ms);
	return transport_error("dial", address, last);
}

/* transport_format writes the "tcp:HOST:PORT" form of a bound sockaddr. */
static char *transport_format(const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	char out[INET6_ADDRSTRLEN + 16];
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, sizeof(out), "tcp:[%s]:%u", host, port);
	} else {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		port = ntohs(in4->sin_port);
		snprintf(out, sizeof(out), "tcp:%s:%u", host, port);
	}
	return strdup(out);
}

static rpc_error *transport_listen_unix(const char *address, const char *path,
                                        int *fd, char **bound)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	char *name = malloc(strlen(path) + 6);
	if (name == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	sprintf(name, "unix:%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		free(name);
		return rpci_error_errno(errno, "rpc: socket");
	}
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(s, SOMAXCONN) < 0) {
		int e = errno;
		close(s);
		free(name);
		return transport_error("listen", address, e);
	}
	*fd = s;
	*bound = name;
	return NULL;
}

rpc_error *rpci_transport_listen(const char *address, int *fd, char **bound)
{
	transport_addr a;
	rpc_error *err = transport_parse(address, &a);
	if (err != NULL)
		return err;
	if (a.kind == TRANSPORT_UNIX)
		return transport_listen_unix(address, a.path, fd, bound);

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	/* an empty host listens on every address (IPv6 first, dual stack) */
	int gai = getaddrinfo(a.host[0] == '\0' ? NULL : a.host, a.port, &hints,
	                      &res);
	if (gai != 0)
		return rpci_error(RPC_ERR_IO, "rpc: listen %s: %s", address,
		                  gai_strerror(gai));
	int last = EADDRNOTAVAIL;
	/* For an empty host, try IPv6 first: "::" with IPV6_V6ONLY off takes
	 * IPv4 too, as Go's ":PORT" does. */
	for (int pass = 0; pass < 2; pass++)
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
			bool v6 = ai->ai_family == AF_INET6;
			if (a.host[0] == '\0' ? v6 != (pass == 0) : pass == 1)
				continue;
			int s = socket(ai->ai_family,
			               ai->ai_socktype | SOCK_CLOEXEC,
			               ai->ai_protocol);
			if (s < 0) {
				last = errno;
				continue;
			}
			int one = 1;
			(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one,
			                 sizeof(one));
			if (ai->ai_family == AF_INET6 && a.host[0] == '\0') {
				int zero = 0;
				(void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY,
				                 &zero, sizeof(zero));
			}
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (bind(s, ai->ai_addr, ai->ai_addrlen) < 0 ||
			    listen(s, SOMAXCONN) < 0 ||
			    getsockname(s, (struct sockaddr *)&ss, &sl) < 0) {
				last = errno;
				close(s);
				continue;
			}
			transport_tcp_opts(
			    s); /* inherited by accepted sockets */
			char *name = transport_format((struct sockaddr *)&ss);
			if (name == NULL) {
				close(s);
				freeaddrinfo(res);
				return rpci_error(RPC_ERR_NOMEM, NULL);
			}
			freeaddrinfo(res);
			*fd = s;
			*bound = name;
			return NULL;
		}
	freeaddrinfo(res);
	return transport_error("listen", address, last);
}
