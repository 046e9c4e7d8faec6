/* shadow_table.h: the one tree of 64-bit host tables the host walker runs
 * on, in pages from the host's alloc_table, written through pointers. */
#ifndef SIMPLE_MMU_SHADOW_TABLE_H_
#define SIMPLE_MMU_SHADOW_TABLE_H_

#include <stdbool.h>
#include <stdint.h>

#include "shadowdiff/mmu.h"

struct shadow_table {
	shadowdiff_host *host;
	uint64_t *root; /* a PML4; NULL until built */
};

/* The hpa of the PML4, built empty if there is none; false when the host has
 * no page left for it. */
bool shadow_root_hpa(struct shadow_table *st, uint64_t *hpa);

/* Installs spte as the 4 KB leaf for gva, building the tables above it with
 * every right (the leaf alone decides); false when the host has no page left
 * for one of them. A leaf it replaces is flushed from the host TLB. */
bool shadow_map(struct shadow_table *st, uint64_t gva, uint64_t spte);

/* Gives every table page back to the host; the host TLB is the caller's. */
void shadow_free_all(struct shadow_table *st);

#endif /* SIMPLE_MMU_SHADOW_TABLE_H_ */
