/* big.c - blocks of RPCI_BIG (4 MiB) bytes and more, mapped straight from
 * the kernel and given back to it when freed.
 *
 * Why not malloc. With glibc's default allocator one 16 MiB echo peaked at
 * 5.2 times the message on the server: glibc raises its mmap threshold to
 * a block's size when the first large mmapped block is freed, so later
 * 16 MiB blocks come from the heap of the thread's arena and stay there
 * (trimmed only past twice the threshold), and a loop's two threads each
 * keep a call's worth. Past glibc's largest threshold (32 MiB) every block
 * is a fresh mmap of 4 KiB pages: a 63 MiB echo took about 4 x 16,000
 * page faults per call, some 2.5 us each on the machine measured. Huge
 * pages fix the second (a 64 MiB block, 2 MiB aligned and madvised, faults
 * 32 times: 7-9 ms against 40 ms), but glibc's mmapped chunks are not
 * 2 MiB aligned and its arena memory is reused and kept.
 *
 * So a big block is an anonymous mapping whose start is 2 MiB aligned
 * (map 2 MiB more, unmap the excess at both ends), marked MADV_HUGEPAGE,
 * and unmapped when freed: the peak is what is alive, and fresh memory
 * comes in huge pages. There is no cache of freed blocks: a block freed is
 * memory the kernel has again.
 *
 * What stays true: every block this module hands out is at least RPCI_BIG
 * bytes, starts on a 2 MiB boundary, and is in the registry (an
 * open-addressed table, linear probing, guarded by big_mu) until it is
 * freed. The registry lets rpci_big_free take any pointer, big or
 * malloc'd, so decoded messages are freed by one path whatever made
 * their fields. It is consulted only when a block is alive (big_count) and
 * the pointer is 2 MiB aligned, so freeing a small block costs one atomic
 * load and a test of its low bits.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codec.h"

#define BIG_ALIGN ((size_t)2 * 1024 * 1024)

typedef struct big_slot {
	uintptr_t p; /* 0: empty */
	size_t map;  /* bytes mapped at p */
} big_slot;

static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;
static big_slot *big_tab; /* protected by big_mu; NULL until first use */
static size_t big_cap;    /* slots in big_tab, a power of two */
static size_t big_n;      /* slots used */
static atomic_size_t big_count, big_bytes;

static size_t big_page(void)
{
	static atomic_size_t page; /* the same value from every thread */
	size_t p = atomic_load_explicit(&page, memory_order_relaxed);
	if (p == 0) {
		p = (size_t)sysconf(_SC_PAGESIZE);
		atomic_store_explicit(&page, p, memory_order_relaxed);
	}
	return p;
}

static size_t big_hash(uintptr_t p, size_t cap)
{
	return (size_t)(((uint64_t)(p >> 21) * 0x9e3779b97f4a7c15u) >> 32) &
	       (cap - 1);
}

/* big_find is the slot of p or of the empty slot where it would go. */
static size_t big_find(uintptr_t p)
{
	size_t i = big_hash(p, big_cap);
	while (big_tab[i].p != 0 && big_tab[i].p != p)
		i = (i + 1) & (big_cap - 1);
	return i;
}

/* big_put records p; false when the table could not grow. big_mu held. */
static bool big_put(uintptr_t p, size_t map)
{
	if ((big_n + 1) * 2 > big_cap) {
		size_t cap = big_cap == 0 ? 64 : big_cap * 2;
		big_slot *old = big_tab, *t = calloc(cap, sizeof *t);
		size_t old_cap = big_cap;
		if (t == NULL)
			return false;
		big_tab = t;
		big_cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].p != 0)
				big_tab[big_find(old[i].p)] = old[i];
		free(old);
	}
	big_tab[big_find(p)] = (big_slot){p, map};
	big_n++;
	return true;
}

/* big_take removes p and returns its mapped size, 0 when p is not a big
 * block. big_mu held. Deletion shifts the entries after it back, so no
 * tombstones pile up. */
static size_t big_take(uintptr_t p)
{
	size_t i, j, map;

	if (big_cap == 0)
		return 0;
	i = big_find(p);
	if (big_tab[i].p == 0)
		return 0;
	map = big_tab[i].map;
	big_tab[i].p = 0;
	big_n--;
	for (j = (i + 1) & (big_cap - 1); big_tab[j].p != 0;
	     j = (j + 1) & (big_cap - 1)) {
		size_t h = big_hash(big_tab[j].p, big_cap);
		/* move j to i unless its home lies cyclically in (i, j] */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		big_tab[i] = big_tab[j];
		big_tab[j].p = 0;
		i = j;
	}
	return map;
}

/* big_size is the mapped size of big block p, 0 when p is not one. */
static size_t big_size(const void *p)
{
	uintptr_t u = (uintptr_t)p;
	size_t map = 0;

	if (u == 0 || (u & (BIG_ALIGN - 1)) != 0 ||
	    atomic_load_explicit(&big_count, memory_order_acquire) == 0)
		return 0;
	pthread_mutex_lock(&big_mu);
	if (big_cap != 0) {
		size_t i = big_find(u);
		if (big_tab[i].p == u)
			map = big_tab[i].map;
	}
	pthread_mutex_unlock(&big_mu);
	return map;
}

/* big_map maps map bytes (a multiple of the page size) at a 2 MiB
 * boundary, marked for huge pages. NULL when the kernel says no. */
static void *big_map(size_t map)
{
	size_t span;
	uintptr_t base, at;
	void *m;

	if (map > SIZE_MAX - BIG_ALIGN)
		return NULL;
	span = map + BIG_ALIGN - big_page();
	m = mmap(NULL, span, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	base = (uintptr_t)m;
	at = (base + BIG_ALIGN - 1) & ~(uintptr_t)(BIG_ALIGN - 1);
	if (at > base)
		munmap(m, at - base);
	if (base + span > at + map)
		munmap((void *)(at + map), base + span - (at + map));
#ifdef MADV_HUGEPAGE
	(void)madvise((void *)at, map, MADV_HUGEPAGE);
#endif
	return (void *)at;
}

static size_t big_round(size_t n)
{
	size_t page = big_page();
	return n > SIZE_MAX - page ? 0 : (n + page - 1) & ~(page - 1);
}

void *rpci_big_alloc(size_t n)
{
	size_t map = big_round(n < RPCI_BIG ? RPCI_BIG : n);
	void *p;
	bool ok;

	if (map == 0 || (p = big_map(map)) == NULL)
		return NULL;
	pthread_mutex_lock(&big_mu);
	ok = big_put((uintptr_t)p, map);
	if (ok) {
		atomic_fetch_add(&big_count, 1);
		atomic_fetch_add(&big_bytes, map);
	}
	pthread_mutex_unlock(&big_mu);
	if (!ok) {
		munmap(p, map);
		return NULL;
	}
	return p;
}

void *rpci_big_malloc(size_t n)
{
	return n >= RPCI_BIG ? rpci_big_alloc(n) : malloc(n);
}

void *rpci_big_field_alloc(bool server, size_t n)
{
	void *p;

	if (server)
		return rpci_big_malloc(n);
	p = malloc(n);
	if (p != NULL)
		rpci_big_advise(p, n);
	return p;
}

void *rpci_page_span(void *p, size_t n, size_t *len)
{
	uintptr_t page = big_page();
	uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(page - 1);

	*len = e > a ? e - a : 0;
	return (void *)a;
}

void rpci_big_advise(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	size_t len;

	if (n < RPCI_BIG)
		return; /* small blocks of the codecs pass here on every call */
	p = rpci_page_span(p, n, &len);
	if (len > 0)
		(void)madvise(p, len, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

void rpci_big_free(void *p)
{
	uintptr_t u = (uintptr_t)p;
	size_t map = 0;

	if (u == 0)
		return;
	if ((u & (BIG_ALIGN - 1)) == 0 &&
	    atomic_load_explicit(&big_count, memory_order_acquire) != 0) {
		pthread_mutex_lock(&big_mu);
		map = big_take(u);
		if (map != 0) {
			atomic_fetch_sub(&big_count, 1);
			atomic_fetch_sub(&big_bytes, map);
		}
		pthread_mutex_unlock(&big_mu);
	}
	if (map != 0)
		munmap(p, map);
	else
		free(p);
}

bool rpci_big_owns(const void *p)
{
	return big_size(p) != 0;
}

/* big_resize makes big block p (map bytes mapped) map2 bytes, keeping its
 * start on a 2 MiB boundary: the tail is unmapped, or the mapping grows in
 * place, or its pages move (no copy) to the head of a fresh mapping. */
static void *big_resize(void *p, size_t map, size_t map2)
{
	void *q;

	if (map2 == map)
		return p;
	if (map2 < map) {
		munmap((char *)p + map2, map - map2);
		q = p;
	} else {
#ifdef MREMAP_FIXED
		q = mremap(p, map, map2, 0);
		if (q != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
			(void)madvise((char *)p + map, map2 - map,
			              MADV_HUGEPAGE);
#endif
		} else if ((q = big_map(map2)) == NULL) {
			return NULL;
		} else if (mremap(p, map, map, MREMAP_MAYMOVE | MREMAP_FIXED,
		                  q) == MAP_FAILED) {
			memcpy(q, p, map);
			munmap(p, map);
		}
#else
		if ((q = big_map(map2)) == NULL)
			return NULL;
		memcpy(q, p, map);
		munmap(p, map);
#endif
	}
	/* the slot is updated in place or moved; the count of blocks is the
	 * same, so the table never needs to grow here */
	pthread_mutex_lock(&big_mu);
	big_take((uintptr_t)p);
	(void)big_put((uintptr_t)q, map2);
	if (map2 > map)
		atomic_fetch_add(&big_bytes, map2 - map);
	else
		atomic_fetch_sub(&big_bytes, map - map2);
	pthread_mutex_unlock(&big_mu);
	return q;
}

void *rpci_big_realloc(void *p, size_t keep, size_t n)
{
	size_t map = big_size(p), map2;
	void *q;

	if (n >= RPCI_BIG) {
		if ((map2 = big_round(n)) == 0)
			return NULL;
		if (map != 0)
			return big_resize(p, map, map2);
		if ((q = rpci_big_alloc(n)) == NULL)
			return NULL;
		if (p != NULL)
			memcpy(q, p, keep < n ? keep : n);
		free(p);
		return q;
	}
	if (map == 0)
		return realloc(p, n);
	if ((q = malloc(n == 0 ? 1 : n)) == NULL)
		return NULL;
	memcpy(q, p, keep < n ? keep : n);
	rpci_big_free(p);
	return q;
}

size_t rpci_big_live(size_t *bytes)
{
	if (bytes != NULL)
		*bytes = atomic_load(&big_bytes);
	return atomic_load(&big_count);
}
