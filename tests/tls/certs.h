/* certs.h - the certificates of the TLS tests, made at test time with
 * OpenSSL (nothing secret is checked in).
 *
 * certs_make writes into dir (which must exist), as PEM:
 *   ca.pem              a CA ("rpcgen-c test CA")
 *   server.pem/.key     CN=server, SANs DNS:localhost, IP:127.0.0.1, IP:::1,
 *                       signed by ca
 *   client.pem/.key     CN=alice, SAN DNS:alice.example, signed by ca
 *   expired.pem/.key    as server, but valid only until yesterday
 *   wrongname.pem/.key  as server, but for DNS:other.example only
 *   other-ca.pem        a second CA nobody trusts
 *   untrusted.pem/.key  as server, signed by other-ca
 * Returns false, with a message on stderr, when something fails. */
#ifndef TLS_CERTS_H
#define TLS_CERTS_H

#include <stdbool.h>

bool certs_make(const char *dir);

#endif
