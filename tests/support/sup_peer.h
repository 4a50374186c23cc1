/* sup_peer.h - run a peer program (the Go programs of the interop tests) from
 * a test: once, with input and captured output, or as a server that prints
 * its address and runs until its stdin closes.
 *
 * Nothing here uses Check: each function reports failure by its result
 * (and a message), and the test asserts. */
#ifndef SUPPORT_PEER_H
#define SUPPORT_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* sup_peer_path is the program named by the environment variable var
 * (e.g. "GOBPEER"), or NULL when it is unset or empty: the test then
 * reports SKIP (exit 77) rather than passing. */
const char *sup_peer_path(const char *var);

/* sup_peer_run runs prog with the arguments args (a NULL-terminated list,
 * without argv[0]; borrowed for the duration of the call), the inlen bytes
 * at in on its stdin (an empty stdin when in is NULL), and returns what it
 * printed on stdout: NUL-terminated, its length in *outlen unless outlen is
 * NULL; the caller frees it with free. Returns NULL, with a message in
 * err[errlen], when prog cannot start, exits other than with status 0, or
 * runs for more than timeout_s seconds (then it is killed). */
char *sup_peer_run(const char *prog, const char *const args[], const void *in,
                   size_t inlen, int timeout_s, size_t *outlen, char *err,
                   size_t errlen);

/* A peer running as a server until its stdin closes. */
typedef struct sup_peer {
	pid_t pid;
	int in_fd;     /* the write end of its stdin */
	char addr[80]; /* "tcp:" and the first line it printed */
} sup_peer;

/* sup_peer_start starts prog with args (as for sup_peer_run) as a server:
 * its stdin is a pipe that sup_peer_stop closes, and the first line it
 * prints is its host:port, which p->addr holds after "tcp:". Returns false
 * (the peer stopped) when it printed no address. */
bool sup_peer_start(sup_peer *p, const char *prog, const char *const args[]);

/* sup_peer_stop closes the peer's stdin and waits for it; true when it
 * exited with status 0. */
bool sup_peer_stop(sup_peer *p);

#endif
