/* all_handlers.h - the handlers of golden/all.rpc's Arith service that the
 * tests serving it share (test_calls.c, test_go_peer.c): Multiply, Divide,
 * Negate, Sort and Sum. Replies hold only malloc'd memory, which the
 * runtime frees after sending. Not the suites' Arith (tests/support/
 * sup_arith.h): these tests exercise the checked-in golden code, so the
 * handlers are typed by all.rpc.h and go through its trampolines. */
#ifndef ALL_HANDLERS_H
#define ALL_HANDLERS_H

#include <stdlib.h>
#include <string.h>

#include "all.rpc.h"

static rpc_error *arith_multiply(void *self, const all_Args *args,
                                 int64_t *reply)
{
	(void)self;
	*reply = args->A * args->B;
	return NULL;
}

static rpc_error *arith_divide(void *self, const all_Args *args,
                               all_Quotient *reply)
{
	(void)self;
	if (args->B == 0)
		return rpc_error_new("divide by zero");
	reply->Quo = args->A / args->B;
	reply->Rem = args->A % args->B;
	return NULL;
}

static rpc_error *arith_negate(void *self, int64_t x, int64_t *reply)
{
	(void)self;
	*reply = -x;
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static rpc_error *arith_sort(void *self, const all_Int64List *nums,
                             all_Int64List *reply)
{
	(void)self;
	reply->value = malloc((nums->n_value + 1) * sizeof *reply->value);
	if (reply->value == NULL)
		return rpc_error_new("out of memory");
	memcpy(reply->value, nums->value, nums->n_value * sizeof *nums->value);
	reply->n_value = nums->n_value;
	qsort(reply->value, reply->n_value, sizeof *reply->value, cmp_i64);
	return NULL;
}

static rpc_error *arith_sum(void *self, const all_StringInt64Map *counts,
                            all_Quotient *reply)
{
	(void)self;
	for (size_t i = 0; i < counts->n_value; i++)
		reply->Quo += counts->value[i]->value;
	reply->Rem = (int64_t)counts->n_value;
	return NULL;
}

#endif
