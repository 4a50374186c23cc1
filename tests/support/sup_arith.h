/* sup_arith.h - the Arith service the suites call: the handlers of
 * sup_arith.rpc (package sup, built into support_arith_dep), registered under
 * "Arith".
 *
 *	Multiply  A * B
 *	Divide    A / B and A % B; "divide by zero" when B is 0
 *	Add       A + B
 *	Echo      its string ("out of memory" when the copy fails)
 *	Sleep     sleeps A ms, answers B (counted: sup_arith_sleeping)
 *	Slow      waits until released or for A ms, answers B (the gate below)
 *	Nap       sleeps A us, answers B (counted: sup_arith_naps_running)
 *	Fail      fails with its string
 *	Repeat    A copies of 'a' + B % 26 ("repeat: bad count" past 64 MiB)
 *
 * Replies (Echo's and Repeat's strings) are malloc'd and the runtime frees
 * them after sending. The counters and the gate are process-wide; a test
 * that uses them resets them first. */
#ifndef SUPPORT_ARITH_H
#define SUPPORT_ARITH_H

#include <stdbool.h>

#include "sup_arith.rpc.h"

/* sup_arith_handlers is the handler table (self unused). */
extern const sup_Arith_handlers sup_arith_handlers;

/* sup_arith_register registers the handlers on srv (borrowed; the table is
 * static) under "Arith". Returns NULL or the error of sup_Arith_register
 * (caller frees with rpc_error_free). */
rpc_error *sup_arith_register(rpc_server *srv);

/* sup_arith_method is the entry of sup_Arith_service for the method name
 * (e.g. "Multiply", for rpc_client_call), or NULL; static, never freed. */
const rpc_method *sup_arith_method(const char *name);

/* Sleep's counters: the Sleep calls running now, the most that ran at
 * once since sup_arith_sleep_reset. */
int sup_arith_sleeping(void);
int sup_arith_max_sleeping(void);
void sup_arith_sleep_reset(void);

/* Slow's gate: a Slow call waits until the gate is released or its A
 * milliseconds pass. Reset closes the gate and zeroes the count of Slow
 * calls running; wait_running waits (up to 10 s) until n are running and
 * says whether they are. When notify_fd is not -1 every Slow call writes
 * one byte to it as it starts (a forked server tells its parent). */
void sup_arith_slow_reset(void);
void sup_arith_slow_release(void);
bool sup_arith_slow_wait_running(int n);
void sup_arith_slow_notify(int notify_fd);

/* sup_arith_naps_running is the number of Nap calls running now. */
int sup_arith_naps_running(void);

#endif
