/* tls.c - TLS configurations, verification and peer identities on OpenSSL,
 * and the step-wise handshake, read and write the transports drive.
 *
 * Why OpenSSL 3 (Debian's libssl-dev) and nothing of our own: TLS is
 * cryptography and a state machine that must be exactly right; OpenSSL is
 * what Debian keeps patched, and what the issue asks for.
 *
 * Every step works on a non-blocking socket and reports what it waits for
 * (rpci_tls_status); the client and the HTTP dialer wait with poll
 * (rpci_tls_wait), the server's loops with epoll. Before each step the
 * thread's OpenSSL error queue is cleared, since SSL_get_error reads it.
 * An SSL is never used by two threads at once: the server's connections
 * and the client each hold a lock around every step on theirs.
 *
 * A client configuration keeps the last session of each of up to
 * TLS_SESSIONS servers (host:port), offered on the next dial there, so a
 * client that reconnects resumes instead of doing a full handshake.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include "internal.h"
#include "tls.h"

enum { TLS_SESSIONS = 16 };

struct rpc_tls {
	SSL_CTX *ctx;
	bool server;
	bool skip_verify;
	char *server_name; /* client: the name to verify, or NULL */
	atomic_uint refs;
	pthread_mutex_t mu; /* sessions, next */
	struct {
		char *key; /* "host:port" */
		SSL_SESSION *sess;
	} sessions[TLS_SESSIONS];
	unsigned next;
};

/* The session key of a client SSL ("host:port", malloc'd), freed with it. */
static int tls_key_index = -1;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_key_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                         long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void tls_init_once(void)
{
	tls_key_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, tls_key_free);
}

/* tls_error makes an error of what went wrong in OpenSSL: what, then the
 * reason of the earliest error queued (and the certificate's verify
 * result when that is why), and clears the queue. */
static rpc_error *tls_error(SSL *ssl, const char *what)
{
	unsigned long e = ERR_peek_error();
	char reason[256] = "";
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (e != 0) {
		const char *r = ERR_reason_error_string(e);
		if (r != NULL)
			snprintf(reason, sizeof reason, "%s", r);
		else
			ERR_error_string_n(e, reason, sizeof reason);
	}
	ERR_clear_error();
	if (ssl != NULL && vr != X509_V_OK)
		return rpci_error(
		    RPC_ERR_TLS, "%s: %s: %s", what,
		    reason[0] != '\0' ? reason : "certificate verify failed",
		    X509_verify_cert_error_string(vr));
	if (reason[0] == '\0')
		return rpci_error(RPC_ERR_TLS, "%s: failed", what);
	return rpci_error(RPC_ERR_TLS, "%s: %s", what, reason);
}

/* ---- configurations ------------------------------------------------------ */

static int tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
	rpc_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const char *key = SSL_get_ex_data(ssl, tls_key_index);
	unsigned i;

	if (t == NULL || key == NULL)
		return 0;
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < TLS_SESSIONS; i++)
		if (t->sessions[i].key != NULL &&
		    strcmp(t->sessions[i].key, key) == 0)
			break;
	if (i == TLS_SESSIONS) {
		i = t->next++ % TLS_SESSIONS;
		free(t->sessions[i].key);
		t->sessions[i].key = strdup(key);
		if (t->sessions[i].key == NULL) {
			if (t->sessions[i].sess != NULL)
				SSL_SESSION_free(t->sessions[i].sess);
			t->sessions[i].sess = NULL;
			pthread_mutex_unlock(&t->mu);
			return 0;
		}
	}
	if (t->sessions[i].sess != NULL)
		SSL_SESSION_free(t->sessions[i].sess);
	t->sessions[i].sess = sess; /* the reference OpenSSL gave us */
	pthread_mutex_unlock(&t->mu);
	return 1;
}

static rpc_error *tls_new(const rpc_tls_options *o, bool server, rpc_tls **out)
{
	rpc_tls_options none = {0};
	rpc_tls *t;
	rpc_error *err = NULL;

	if (out == NULL)
		return rpci_error(RPC_ERR_INVALID, NULL);
	*out = NULL;
	if (o == NULL)
		o = &none;
	if (server && o->cert_file == NULL)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc: tls: a server needs a certificate "
		                  "(cert_file)");
	if (server && o->require_client_cert && o->ca_file == NULL &&
	    o->ca_dir == NULL)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc: tls: require_client_cert needs the CAs "
		                  "that sign client certificates (ca_file or "
		                  "ca_dir)");
	pthread_once(&tls_once, tls_init_once);
	if (tls_key_index < 0)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	t = calloc(1, sizeof *t);
	if (t == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	atomic_init(&t->refs, 1);
	pthread_mutex_init(&t->mu, NULL);
	t->server = server;
	t->skip_verify = !server && o->insecure_skip_verify;
	ERR_clear_error();
	t->ctx =
	    SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (t->ctx == NULL) {
		err = tls_error(NULL, "rpc: tls");
		goto fail;
	}
	SSL_CTX_set_app_data(t->ctx, t);
	SSL_CTX_set_min_proto_version(t->ctx, o->tls13_only ? TLS1_3_VERSION
	                                                    : TLS1_2_VERSION);
	/* No renegotiation; an end of stream without close_notify is an end
	 * of stream (every codec frames its messages, so a cut is seen). */
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION |
	                                SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Writes return after each record; an idle connection gives its
	 * buffers back (tens of KiB each). */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                             SSL_MODE_RELEASE_BUFFERS);
	if (o->server_name != NULL) {
		t->server_name = strdup(o->server_name);
		if (t->server_name == NULL) {
			err = rpci_error(RPC_ERR_NOMEM, NULL);
			goto fail;
		}
	}
	if (o->cert_file != NULL) {
		const char *key =
		    o->key_file != NULL ? o->key_file : o->cert_file;
		if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) !=
		    1) {
			err = tls_error(NULL, "rpc: tls: certificate");
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(t->ctx, key,
		                                SSL_FILETYPE_PEM) != 1) {
			err = tls_error(NULL, "rpc: tls: private key");
			goto fail;
		}
		if (SSL_CTX_check_private_key(t->ctx) != 1) {
			err = tls_error(NULL, "rpc: tls: private key");
			goto fail;
		}
	}
	if (o->ca_file != NULL || o->ca_dir != NULL) {
		if (SSL_CTX_load_verify_locations(t->ctx, o->ca_file,
		                                  o->ca_dir) != 1) {
			err = tls_error(NULL, "rpc: tls: CA");
			goto fail;
		}
	} else if (!server && !t->skip_verify &&
	           SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		err = tls_error(NULL, "rpc: tls: the system's CA store");
		goto fail;
	}
	if (server) {
		static const unsigned char sid[] = "rpcgen-c";
		SSL_CTX_set_session_id_context(t->ctx, sid, sizeof sid - 1);
		if (o->ca_file != NULL) {
			STACK_OF(X509_NAME) *names =
			    SSL_load_client_CA_file(o->ca_file);
			if (names != NULL)
				SSL_CTX_set_client_CA_list(t->ctx, names);
		}
		if (o->require_client_cert)
			SSL_CTX_set_verify(t->ctx,
			                   SSL_VERIFY_PEER |
			                       SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			                   NULL);
		else if (o->ca_file != NULL || o->ca_dir != NULL)
			SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		else
			SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(
		    t->ctx, t->skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
		    NULL);
		if (o->no_resume) {
			SSL_CTX_set_session_cache_mode(t->ctx,
			                               SSL_SESS_CACHE_OFF);
		} else {
			SSL_CTX_set_session_cache_mode(
			    t->ctx, SSL_SESS_CACHE_CLIENT |
			                SSL_SESS_CACHE_NO_INTERNAL_STORE);
			SSL_CTX_sess_set_new_cb(t->ctx, tls_new_session);
		}
	}
	*out = t;
	return NULL;

fail:
	rpc_tls_free(t);
	return err;
}

rpc_error *rpc_tls_client_new(const rpc_tls_options *opts, rpc_tls **out)
{
	return tls_new(opts, false, out);
}

rpc_error *rpc_tls_server_new(const rpc_tls_options *opts, rpc_tls **out)
{
	return tls_new(opts, true, out);
}

rpc_tls *rpci_tls_ref(rpc_tls *t)
{
	if (t != NULL)
		atomic_fetch_add(&t->refs, 1);
	return t;
}

bool rpci_tls_is_server(const rpc_tls *t)
{
	return t->server;
}

void rpc_tls_free(rpc_tls *t)
{
	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (unsigned i = 0; i < TLS_SESSIONS; i++) {
		free(t->sessions[i].key);
		if (t->sessions[i].sess != NULL)
			SSL_SESSION_free(t->sessions[i].sess);
	}
	if (t->ctx != NULL)
		SSL_CTX_free(t->ctx);
	free(t->server_name);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* ---- connections --------------------------------------------------------- */

/* OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the
 * peer has gone; librpc never does that to its host (every other write is
 * send(MSG_NOSIGNAL)). So sockets get a BIO method that is OpenSSL's own
 * except for the write. */
static BIO_METHOD *tls_bio_method;
static pthread_once_t tls_bio_once = PTHREAD_ONCE_INIT;

static int tls_bio_write(BIO *b, const char *p, int n)
{
	int fd = -1;
	ssize_t w;

	BIO_get_fd(b, &fd);
	BIO_clear_retry_flags(b);
	w = send(fd, p, (size_t)n, MSG_NOSIGNAL);
	if (w < 0 && BIO_sock_should_retry((int)w))
		BIO_set_retry_write(b);
	return (int)w;
}

static void tls_bio_init(void)
{
	const BIO_METHOD *sock = BIO_s_socket();
	BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOCKET, "rpc socket");

	if (m == NULL)
		return;
	if (BIO_meth_set_write(m, tls_bio_write) != 1 ||
	    BIO_meth_set_read(m, BIO_meth_get_read(sock)) != 1 ||
	    BIO_meth_set_puts(m, BIO_meth_get_puts(sock)) != 1 ||
	    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock)) != 1 ||
	    BIO_meth_set_create(m, BIO_meth_get_create(sock)) != 1 ||
	    BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock)) != 1) {
		BIO_meth_free(m);
		return;
	}
	tls_bio_method = m;
}

/* tls_set_fd gives ssl fd (not closed with it) through the BIO above. */
static bool tls_set_fd(SSL *ssl, int fd)
{
	BIO *b;

	pthread_once(&tls_bio_once, tls_bio_init);
	if (tls_bio_method == NULL || (b = BIO_new(tls_bio_method)) == NULL)
		return false;
	BIO_set_fd(b, fd, BIO_NOCLOSE);
	SSL_set_bio(ssl, b, b);
	return true;
}

rpc_error *rpci_tls_client_ssl(rpc_tls *t, int fd, const char *host,
                               const char *port, SSL **out)
{
	const char *name = t->server_name != NULL ? t->server_name : host;
	unsigned char ip[16];
	bool is_ip;
	char *key;
	SSL *ssl;

	*out = NULL;
	if (t->server)
		return rpci_error(
		    RPC_ERR_INVALID,
		    "rpc: tls: a server configuration cannot dial");
	if (name == NULL && !t->skip_verify)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc: tls: no name to verify the server by "
		                  "(set rpc_tls_options.server_name)");
	ERR_clear_error();
	ssl = SSL_new(t->ctx);
	if (ssl == NULL)
		return tls_error(NULL, "rpc: tls");
	if (!tls_set_fd(ssl, fd))
		goto fail;
	SSL_set_connect_state(ssl);
	is_ip = name != NULL && (inet_pton(AF_INET, name, ip) == 1 ||
	                         inet_pton(AF_INET6, name, ip) == 1);
	if (name != NULL && !t->skip_verify) {
		if (is_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			                                  name) != 1)
				goto fail;
		} else if (SSL_set1_host(ssl, name) != 1) {
			goto fail;
		}
	}
	/* SNI names hosts, never addresses (RFC 6066) */
	if (name != NULL && !is_ip && SSL_set_tlsext_host_name(ssl, name) != 1)
		goto fail;
	if (host != NULL && port != NULL) {
		size_t n = strlen(host) + strlen(port) + 2;
		key = malloc(n);
		if (key == NULL) {
			SSL_free(ssl);
			return rpci_error(RPC_ERR_NOMEM, NULL);
		}
		snprintf(key, n, "%s:%s", host, port);
		if (SSL_set_ex_data(ssl, tls_key_index, key) != 1) {
			free(key);
			goto fail;
		}
		pthread_mutex_lock(&t->mu);
		for (unsigned i = 0; i < TLS_SESSIONS; i++)
			if (t->sessions[i].key != NULL &&
			    strcmp(t->sessions[i].key, key) == 0 &&
			    t->sessions[i].sess != NULL) {
				SSL_set_session(ssl, t->sessions[i].sess);
				break;
			}
		pthread_mutex_unlock(&t->mu);
	}
	*out = ssl;
	return NULL;

fail:
	SSL_free(ssl);
	return tls_error(NULL, "rpc: tls");
}

SSL *rpci_tls_server_ssl(rpc_tls *t, int fd)
{
	SSL *ssl = SSL_new(t->ctx);

	if (ssl == NULL)
		return NULL;
	if (!tls_set_fd(ssl, fd)) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

void rpci_tls_ssl_free(SSL *ssl, bool polite)
{
	if (ssl == NULL)
		return;
	ERR_clear_error();
	if (polite && SSL_is_init_finished(ssl)) {
		(void)SSL_shutdown(ssl); /* close_notify, without waiting */
		/* a clean end, even if the socket was already shut down: the
		 * session stays resumable (OpenSSL drops it otherwise) */
		SSL_set_shutdown(ssl,
		                 SSL_get_shutdown(ssl) | SSL_SENT_SHUTDOWN);
	}
	ERR_clear_error();
	SSL_free(ssl);
}

/* tls_status turns the result r of an SSL call into a status. */
static rpci_tls_status tls_status(SSL *ssl, int r, const char *what,
                                  rpc_error **err)
{
	int e = SSL_get_error(ssl, r);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return RPCI_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return RPCI_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return RPCI_TLS_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			int en = errno;
			if (en == 0 || en == ECONNRESET || en == EPIPE)
				return RPCI_TLS_EOF;
			*err = rpci_error_errno(en, what);
			return RPCI_TLS_ERROR;
		}
		/* fall through */
	default:
		*err = tls_error(ssl, what);
		return RPCI_TLS_ERROR;
	}
}

rpci_tls_status rpci_tls_handshake(SSL *ssl, const char *what, rpc_error **err)
{
	int r;

	*err = NULL;
	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(ssl);
	if (r == 1)
		return RPCI_TLS_OK;
	rpci_tls_status st = tls_status(ssl, r, what, err);
	if (st == RPCI_TLS_EOF) {
		/* a peer that leaves during the handshake is an error here */
		*err = rpci_error(RPC_ERR_TLS,
		                  "%s: the peer closed the connection", what);
		return RPCI_TLS_ERROR;
	}
	return st;
}

rpci_tls_status rpci_tls_read(SSL *ssl, void *buf, size_t cap, size_t *n,
                              rpc_error **err)
{
	int r;

	*err = NULL;
	*n = 0;
	ERR_clear_error();
	errno = 0;
	r = SSL_read_ex(ssl, buf, cap, n);
	if (r == 1)
		return RPCI_TLS_OK;
	return tls_status(ssl, r, "rpc: tls read", err);
}

rpci_tls_status rpci_tls_write(SSL *ssl, const void *p, size_t len, size_t *n,
                               rpc_error **err)
{
	int r;

	*err = NULL;
	*n = 0;
	ERR_clear_error();
	errno = 0;
	r = SSL_write_ex(ssl, p, len, n);
	if (r == 1)
		return RPCI_TLS_OK;
	rpci_tls_status st = tls_status(ssl, r, "rpc: tls write", err);
	if (st == RPCI_TLS_EOF) {
		*err = rpci_error_errno(EPIPE, "rpc: tls write");
		return RPCI_TLS_ERROR;
	}
	return st;
}

bool rpci_tls_pending(SSL *ssl)
{
	return SSL_pending(ssl) > 0;
}

/* ---- waiting (client and dialer) ----------------------------------------- */

bool rpci_tls_wait(int fd, rpci_tls_status st, int timeout_ms)
{
	struct pollfd p = {
	    .fd = fd, .events = st == RPCI_TLS_WANT_WRITE ? POLLOUT : POLLIN};
	int64_t until = rpci_deadline_ns(timeout_ms);
	int n;

	for (;;) {
		n = poll(&p, 1, rpci_ms_left(until));
		if (n > 0)
			return true;
		if (n == 0) {
			errno = ETIMEDOUT;
			return false;
		}
		if (errno != EINTR)
			return false;
	}
}

rpc_error *rpci_tls_connect(rpc_tls *t, int fd, const char *host,
                            const char *port, int timeout_ms, SSL **out)
{
	int64_t until = rpci_deadline_ns(timeout_ms);
	rpc_error *err;
	SSL *ssl;
	int fl;

	*out = NULL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return rpci_error_errno(errno, "rpc: tls");
	err = rpci_tls_client_ssl(t, fd, host, port, &ssl);
	if (err != NULL)
		return err;
	for (;;) {
		rpci_tls_status st =
		    rpci_tls_handshake(ssl, "rpc: tls handshake", &err);
		if (st == RPCI_TLS_OK)
			break;
		if (st == RPCI_TLS_ERROR)
			goto fail;
		if (!rpci_tls_wait(fd, st, rpci_ms_left(until))) {
			err =
			    errno == ETIMEDOUT
			        ? rpci_error(RPC_ERR_TIMEOUT,
			                     "rpc: tls handshake: no answer "
			                     "in %d ms",
			                     timeout_ms)
			        : rpci_error_errno(errno, "rpc: tls handshake");
			goto fail;
		}
	}
	*out = ssl;
	return NULL;

fail:
	SSL_free(ssl);
	return err;
}

rpc_error *rpci_tls_write_all(SSL *ssl, const void *p, size_t len,
                              int timeout_ms)
{
	const unsigned char *b = p;
	rpc_error *err = NULL;

	while (len > 0) {
		size_t n;
		rpci_tls_status st = rpci_tls_write(ssl, b, len, &n, &err);
		if (st == RPCI_TLS_OK) {
			b += n;
			len -= n;
			continue;
		}
		if (st == RPCI_TLS_ERROR)
			return err;
		if (!rpci_tls_wait(SSL_get_fd(ssl), st, timeout_ms))
			return errno == ETIMEDOUT
			           ? rpci_error(RPC_ERR_TIMEOUT,
			                        "rpc: write timed out (no "
			                        "progress in %d ms)",
			                        timeout_ms)
			           : rpci_error_errno(errno, "rpc: write");
	}
	return NULL;
}

rpc_error *rpci_tls_read_some(SSL *ssl, void *buf, size_t cap, size_t *n,
                              int timeout_ms)
{
	rpc_error *err = NULL;

	for (;;) {
		rpci_tls_status st = rpci_tls_read(ssl, buf, cap, n, &err);
		if (st == RPCI_TLS_OK)
			return NULL;
		if (st == RPCI_TLS_EOF) {
			*n = 0;
			return NULL;
		}
		if (st == RPCI_TLS_ERROR)
			return err;
		if (!rpci_tls_wait(SSL_get_fd(ssl), st, timeout_ms))
			return errno == ETIMEDOUT
			           ? rpci_error(RPC_ERR_TIMEOUT,
			                        "rpc: read timed out (nothing "
			                        "in %d ms)",
			                        timeout_ms)
			           : rpci_error_errno(errno, "rpc: read");
	}
}

/* ---- identities ---------------------------------------------------------- */

/* tls_sans lists the DNS, IP, URI and email names of cert. */
static char *tls_sans(X509 *cert)
{
	GENERAL_NAMES *names =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	size_t len = 0, cap = 64;
	char *s = malloc(cap);

	if (s == NULL) {
		GENERAL_NAMES_free(names);
		return NULL;
	}
	s[0] = '\0';
	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		char item[300];
		int n = 0;

		if (g->type == GEN_DNS || g->type == GEN_URI ||
		    g->type == GEN_EMAIL) {
			const ASN1_IA5STRING *v = g->d.ia5;
			const char *kind = g->type == GEN_DNS   ? "DNS"
			                   : g->type == GEN_URI ? "URI"
			                                        : "email";
			n = snprintf(item, sizeof item, "%s:%.*s", kind,
			             ASN1_STRING_length(v),
			             (const char *)ASN1_STRING_get0_data(v));
		} else if (g->type == GEN_IPADD) {
			const ASN1_OCTET_STRING *v = g->d.ip;
			char a[INET6_ADDRSTRLEN] = "?";
			int l = ASN1_STRING_length(v);
			if (l == 4 || l == 16)
				inet_ntop(l == 4 ? AF_INET : AF_INET6,
				          ASN1_STRING_get0_data(v), a,
				          sizeof a);
			n = snprintf(item, sizeof item, "IP:%s", a);
		} else {
			continue;
		}
		if (n < 0)
			continue;
		if ((size_t)n >= sizeof item)
			n = (int)sizeof item - 1;
		if (len + (size_t)n + 2 > cap) {
			char *t;
			cap = (len + (size_t)n + 2) * 2;
			t = realloc(s, cap);
			if (t == NULL) {
				free(s);
				GENERAL_NAMES_free(names);
				return NULL;
			}
			s = t;
		}
		if (len > 0)
			s[len++] = ',';
		memcpy(s + len, item, (size_t)n);
		len += (size_t)n;
		s[len] = '\0';
	}
	GENERAL_NAMES_free(names);
	return s;
}

static char *tls_subject(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL, *data;
	long n;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0,
	                       XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &data);
		s = malloc((size_t)n + 1);
		if (s != NULL) {
			memcpy(s, data, (size_t)n);
			s[n] = '\0';
		}
	}
	BIO_free(b);
	return s;
}

bool rpci_tls_peer(SSL *ssl, rpci_tls_peer_info *p)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);

	memset(p, 0, sizeof *p);
	p->verified = cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK &&
	              SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE;
	if (p->verified) {
		p->subject = tls_subject(cert);
		p->sans = tls_sans(cert);
	} else {
		p->subject = strdup("");
		p->sans = strdup("");
	}
	if (p->subject == NULL || p->sans == NULL) {
		rpci_tls_peer_fini(p);
		return false;
	}
	return true;
}

void rpci_tls_peer_fini(rpci_tls_peer_info *p)
{
	free(p->subject);
	free(p->sans);
	p->subject = p->sans = NULL;
}

void rpci_tls_describe(SSL *ssl, rpc_tls_info *info)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);

	memset(info, 0, sizeof *info);
	snprintf(info->version, sizeof info->version, "%s",
	         SSL_get_version(ssl));
	snprintf(info->cipher, sizeof info->cipher, "%s",
	         SSL_get_cipher_name(ssl));
	info->resumed = SSL_session_reused(ssl) == 1;
	info->verified = cert != NULL &&
	                 SSL_get_verify_result(ssl) == X509_V_OK &&
	                 SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE;
	if (cert != NULL) {
		char *s = tls_subject(cert);
		if (s != NULL)
			snprintf(info->peer, sizeof info->peer, "%s", s);
		free(s);
	}
}
