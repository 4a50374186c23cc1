/* all_handlers.h - the handlers of golden/all.rpc's Arith service that the
 * tests serving it share (test_calls.c, test_go_peer.c): Multiply, Divide,
 * Negate, Sort and Sum; and its Shapes service (oneofs), with shape_make,
 * which fills a Shape with each member kind in turn. Replies hold only
 * malloc'd memory, which the runtime frees after sending. Not the suites'
 * Arith (tests/support/sup_arith.h): these tests exercise the checked-in
 * golden code, so the handlers are typed by all.rpc.h and go through its
 * trampolines. */
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

/* shapes_echo copies the Shape it gets. */
static rpc_error *shapes_echo(void *self, const all_Shape *s,
                              all_Shape *reply)
{
	(void)self;
	return all_Shape_copy(reply, s) ? NULL
	                                : rpc_error_new("out of memory");
}

/* shape_member names the member of oneof kind that is set, "" for none. */
static const char *shape_member(const all_Shape *s)
{
	switch (s->kind_case) {
	case ALL_SHAPE_KIND_RADIUS:
		return "Radius";
	case ALL_SHAPE_KIND_LABEL:
		return "Label";
	case ALL_SHAPE_KIND_BOX:
		return "Box";
	case ALL_SHAPE_KIND_RAW:
		return "Raw";
	case ALL_SHAPE_KIND_MODE:
		return "Mode";
	case ALL_SHAPE_KIND_RATIO:
		return "Ratio";
	default:
		return "";
	}
}

/* shapes_which answers the name of the member that is set. */
static rpc_error *shapes_which(void *self, const all_Shape *s, char **reply)
{
	(void)self;
	*reply = rpc_strdup(shape_member(s));
	return *reply ? NULL : rpc_error_new("out of memory");
}

static const all_Shapes_handlers shapes_handlers = {
    .Echo = shapes_echo,
    .Which = shapes_which,
};

#define SHAPE_KINDS 7 /* none, then each of the 6 members */

/* shape_make sets *s (at ALL_SHAPE_INIT) to kind k: 0 none, 1..6 one
 * member each, non-zero; borrowed pointers into box and raw, which live
 * as long as *s. The same values as peer.go's shapes(). */
static void shape_make(all_Shape *s, int k, all_Args *box, uint8_t raw[2])
{
	s->Name = (char *)"shape";
	s->Tail = 40 + k;
	switch (k) {
	case 1:
		s->kind_case = ALL_SHAPE_KIND_RADIUS;
		s->Radius = 5;
		break;
	case 2:
		s->kind_case = ALL_SHAPE_KIND_LABEL;
		s->Label = (char *)"lbl";
		break;
	case 3:
		s->kind_case = ALL_SHAPE_KIND_BOX;
		box->A = 1;
		box->B = 2;
		s->Box = box;
		break;
	case 4:
		s->kind_case = ALL_SHAPE_KIND_RAW;
		raw[0] = 0;
		raw[1] = 1;
		s->Raw.data = raw;
		s->Raw.len = 2;
		break;
	case 5:
		s->kind_case = ALL_SHAPE_KIND_MODE;
		s->Mode = ALL_OP_MUL;
		break;
	case 6:
		s->kind_case = ALL_SHAPE_KIND_RATIO;
		s->Ratio = 2.5;
		break;
	default:
		break;
	}
}

#endif
