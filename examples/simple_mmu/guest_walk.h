/* guest_walk.h: the guest's own page tables, read as the processor reads
 * them (Intel SDM Vol. 3A 4.3-4.8, with the choices of docs/semantics.md). */
#ifndef SIMPLE_MMU_GUEST_WALK_H_
#define SIMPLE_MMU_GUEST_WALK_H_

#include <stdbool.h>
#include <stdint.h>

#include "shadowdiff/mmu.h"

/* At most four levels are walked (4-level paging). */
#define GUEST_MAX_LEVELS 4

struct guest_walk {
	bool ok;
	uint32_t error_code; /* the guest #PF error code when !ok */

	/* The entries read, root first, including the one that ended the walk.
	 * entry_gpa[i] is where entry i lives; a PAE PDPTE comes from its
	 * register (in_register), which has no A bit and grants no rights. */
	int nr_entries;
	uint64_t entry_gpa[GUEST_MAX_LEVELS];
	bool in_register[GUEST_MAX_LEVELS];

	/* Valid when ok. */
	uint64_t gpa;
	bool writable; /* R/W=1 at every level */
	bool user;     /* U/S=1 at every level */
	bool nx;       /* XD=1 at some level, where XD applies */
	bool dirty;    /* D=1 in the leaf before this access */
};

/* The walk of gva under state for an access of the given kind and privilege:
 * ok, or the fault the guest takes. Reads guest memory only. */
void guest_walk(shadowdiff_host *host, const shadowdiff_paging_state *state,
		uint64_t gva, shadowdiff_access access, bool user,
		struct guest_walk *walk);

/* After a walk that succeeded: A in every entry that has one, D in the leaf
 * for a write (SDM 4.8). */
void guest_set_accessed_dirty(shadowdiff_host *host,
			      const shadowdiff_paging_state *state,
			      const struct guest_walk *walk, bool write);

/* MOV to CR3 in PAE mode: the four PDPTEs at CR3[31:5] into pdptes, or false
 * (#GP, pdptes untouched) when a present one sets a reserved bit. */
bool guest_load_pdptes(shadowdiff_host *host, uint64_t cr3,
		       uint64_t pdptes[4]);

#endif /* SIMPLE_MMU_GUEST_WALK_H_ */
