/* http.c - Go's HTTP entry to RPC: CONNECT on the RPC path, the debug
 * page, and the client's CONNECT handshake.
 *
 * A connection accepted by rpc_server_accept_http starts in HTTP mode; once
 * conn.c has a complete request head, rpci_http_serve_head answers it. A
 * CONNECT to the RPC path turns the connection into an ordinary RPC
 * connection (bytes after the head are already RPC); every other request
 * gets one response and the connection closes (HTTP/1.0 style), which is
 * all Go's clients and a browser need.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "internal.h"
#include "server_internal.h"
#include "transport.h"

#define HTTP_CONNECTED "200 Connected to Go RPC"

/* Responses go to the connection's output queue like replies: written
 * without waiting, the rest on EPOLLOUT, under write_timeout. A response
 * that ends the connection is still written before the socket closes. */
static void http_send(rpci_conn *c, const char *status, const char *type,
                      const char *body, size_t body_len, bool head_only)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %s\r\n"
	                 "Content-Type: %s\r\n"
	                 "X-Content-Type-Options: nosniff\r\n"
	                 "Content-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n",
	                 status, type, body_len);
	rpci_conn_write(c, head, (size_t)n);
	if (!head_only && body_len > 0)
		rpci_conn_write(c, body, body_len);
}

bool rpci_http_serve_head(rpci_conn *c, const uint8_t *in, size_t len,
                          size_t *used)
{
	const char *p = (const char *)in;
	size_t head_len = 0;
	char method[16], target[1024];

	/* the head ends at the first empty line */
	for (size_t i = 1; i < len; i++)
		if (p[i] == '\n' &&
		    (p[i - 1] == '\n' ||
		     (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n'))) {
			head_len = i + 1;
			break;
		}
	const char *eol = memchr(p, '\n', len);
	size_t line_len = (size_t)(eol - p);
	const char *sp1 = memchr(p, ' ', line_len);
	const char *sp2 =
	    sp1 != NULL ? memchr(sp1 + 1, ' ', line_len - (size_t)(sp1 + 1 - p))
	                : NULL;
	if (sp1 == NULL || sp2 == NULL || (size_t)(sp1 - p) >= sizeof(method) ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(target)) {
		http_send(c, "400 Bad Request", "text/plain; charset=utf-8",
		          "400 Bad Request", 15, false);
		return false;
	}
	memcpy(method, p, (size_t)(sp1 - p));
	method[sp1 - p] = '\0';
	memcpy(target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	target[sp2 - sp1 - 1] = '\0';
	char *q = strchr(target, '?');
	if (q != NULL)
		*q = '\0';
	/* the debug page as JSON: ?format=json or PATH.json (rpc-call) */
	size_t dl = strlen(c->http->debug_path);
	bool json = q != NULL && strstr(q + 1, "format=json") != NULL;
	if (dl > 0 && strcmp(target, c->http->rpc_path) != 0 &&
	    strncmp(target, c->http->debug_path, dl) == 0 &&
	    strcmp(target + dl, ".json") == 0) {
		target[dl] = '\0';
		json = true;
	}

	if (strcmp(target, c->http->rpc_path) == 0) {
		if (strcmp(method, "CONNECT") != 0) {
			static const char msg[] = "405 must CONNECT\n";
			http_send(c, "405 Method Not Allowed",
			          "text/plain; charset=utf-8", msg,
			          sizeof(msg) - 1, strcmp(method, "HEAD") == 0);
			return false;
		}
		static const char ok[] = "HTTP/1.0 " HTTP_CONNECTED "\n\n";
		rpci_conn_write(c, ok, sizeof(ok) - 1);
		*used = head_len;
		c->mode = RPCI_CONN_RPC;
		return true;
	}
	if (c->http->debug_path[0] != '\0' &&
	    strcmp(target, c->http->debug_path) == 0) {
		size_t n = 0;
		char *page = json ? rpci_debug_page_json(c->srv, &n)
		                  : rpci_debug_page(c->srv, &n);
		if (page == NULL) {
			http_send(c, "500 Internal Server Error",
			          "text/plain; charset=utf-8", "out of memory",
			          13, false);
			return false;
		}
		http_send(c, "200 OK",
		          json ? "application/json"
		               : "text/html; charset=utf-8",
		          page, n, strcmp(method, "HEAD") == 0);
		rpci_big_free(page); /* an rpci_buf's data */
		return false;
	}
	static const char nf[] = "404 page not found\n";
	http_send(c, "404 Not Found", "text/plain; charset=utf-8", nf,
	          sizeof(nf) - 1, strcmp(method, "HEAD") == 0);
	return false;
}

/* http_handshake_timeout bounds each read and write on fd by ms
 * milliseconds; negative: no bound. */
static void http_handshake_timeout(int fd, int ms)
{
	struct timeval tv = {0, 0};

	if (ms > 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* http_read_head reads the response head byte by byte, so that nothing of
 * the RPC stream after it is consumed (through TLS when ssl is not NULL:
 * what OpenSSL decrypted beyond the head stays there for the client). */
static rpc_error *http_read_head(int fd, SSL *ssl, int ms, char *buf,
                                 size_t cap)
{
	size_t n = 0;

	for (;;) {
		char ch;
		ssize_t r;
		if (ssl != NULL) {
			size_t got;
			rpc_error *err =
			    rpci_tls_read_some(ssl, &ch, 1, &got, ms);
			if (err != NULL)
				return err;
			r = (ssize_t)got;
		} else {
			r = read(fd, &ch, 1);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return rpci_error_errno(errno, "rpc: dial-http: read");
		if (r == 0)
			return rpci_error(RPC_ERR_UNEXPECTED_EOF, NULL);
		if (n + 1 >= cap)
			return rpci_error(RPC_ERR_PROTOCOL,
			                  "rpc: dial-http: response head too "
			                  "long");
		buf[n++] = ch;
		buf[n] = '\0';
		if (n >= 2 && buf[n - 1] == '\n' &&
		    (buf[n - 2] == '\n' ||
		     (n >= 3 && buf[n - 2] == '\r' && buf[n - 3] == '\n')))
			return NULL;
	}
}

rpc_error *rpc_dial_http(const char *address, const char *path,
                         const rpc_client_options *opts, rpc_client **out)
{
	char head[4096];
	rpc_error *err;
	rpc_tls *tls = NULL;
	SSL *ssl = NULL;
	int fd = -1;

	if (out == NULL)
		return rpci_error(RPC_ERR_INVALID, NULL);
	*out = NULL;
	if (path == NULL)
		path = RPC_DEFAULT_RPC_PATH;
	int ms = opts != NULL ? opts->dial_timeout_ms : 0;
	if (ms == 0)
		ms = RPC_DEFAULT_DIAL_TIMEOUT_MS;
	err = rpci_transport_dial_opts(
	    address, ms, opts == NULL || !opts->no_keepalive, &fd);
	if (err != NULL)
		return err;
	/* TLS first (its own dial_timeout_ms), then CONNECT through it */
	if (rpci_client_wants_tls(address, opts)) {
		err = rpci_client_tls_handshake(fd, address, opts, ms, &tls,
		                                &ssl);
		if (err != NULL)
			goto fail;
	}
	/* The CONNECT exchange is part of the dial: it gets the dial's time
	 * (a server that accepts and never answers fails it), then the
	 * socket blocks without a limit again for the client. */
	http_handshake_timeout(fd, ms);
	int n = snprintf(head, sizeof(head), "CONNECT %s HTTP/1.0\n\n", path);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		err = rpci_error(RPC_ERR_INVALID,
		                 "rpc: dial-http: path too long");
		goto fail;
	}
	if (ssl != NULL) {
		err = rpci_tls_write_all(ssl, head, (size_t)n, ms);
		if (err != NULL)
			goto fail;
	} else if (!rpci_write_all(fd, (const uint8_t *)head, (size_t)n)) {
		err = rpci_error_errno(errno, "rpc: dial-http: write");
		goto fail;
	}
	err = http_read_head(fd, ssl, ms, head, sizeof(head));
	if (err != NULL && rpc_error_kind_of(err) == RPC_ERR_TIMEOUT) {
		rpc_error_free(err);
		err = rpci_error(RPC_ERR_TIMEOUT,
		                 "rpc: dial-http %s: no answer to CONNECT "
		                 "in %d ms",
		                 address, ms);
	}
	if (err != NULL && rpc_error_kind_of(err) == RPC_ERR_IO &&
	    (rpc_error_errno(err) == EAGAIN ||
	     rpc_error_errno(err) == EWOULDBLOCK)) {
		rpc_error_free(err);
		err = rpci_error(RPC_ERR_TIMEOUT,
		                 "rpc: dial-http %s: no answer to CONNECT "
		                 "in %d ms",
		                 address, ms);
	}
	if (err != NULL)
		goto fail;
	http_handshake_timeout(fd, -1);
	/* as http.ReadResponse: "PROTO SP STATUS", STATUS to the line end */
	char *eol = strchr(head, '\n'); /* there: the head ends in one */
	if (eol == NULL)
		eol = head + strlen(head);
	*eol = '\0';
	if (eol > head && eol[-1] == '\r')
		eol[-1] = '\0';
	char *status = strchr(head, ' ');
	if (status == NULL || strncmp(head, "HTTP/", 5) != 0) {
		err =
		    rpci_error(RPC_ERR_PROTOCOL,
		               "rpc: dial-http %s: malformed HTTP response %s",
		               address, head);
		goto fail;
	}
	while (*status == ' ')
		status++;
	if (strcmp(status, HTTP_CONNECTED) != 0) {
		err = rpci_error(
		    RPC_ERR_PROTOCOL,
		    "rpc: dial-http %s: unexpected HTTP response: %s", address,
		    status);
		goto fail;
	}
	if (ssl != NULL) {
		err = rpci_client_new_tls(fd, ssl, tls, opts, out);
		if (err != NULL)
			goto fail;
		rpc_tls_free(tls); /* the client took its own */
		return NULL;
	}
	err = rpc_client_new_fd(fd, opts, out);
	if (err != NULL)
		goto fail;
	return NULL;
fail:
	rpci_tls_ssl_free(ssl, false);
	rpc_tls_free(tls);
	close(fd);
	return err;
}
