/* frame_track.h: what the shadow does with each guest RAM frame, one byte of
 * flags per gfn of every memory slot (the slots never change during a case). */
#ifndef SIMPLE_MMU_FRAME_TRACK_H_
#define SIMPLE_MMU_FRAME_TRACK_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shadowdiff/mmu.h"

/* A guest paging structure that some shadow leaf was built from: it must
 * stay write-protected, and a write to it drops the shadow. */
#define FRAME_TABLE (1u << 0)
/* Mapped writable by some shadow leaf. */
#define FRAME_WRITABLE (1u << 1)

struct frame_track {
	size_t nr_slots;
	shadowdiff_memslot *slots;
	uint8_t **flags; /* flags[i][gfn - slots[i].base_gfn] */
};

/* Reads the host's memory slots; false when out of memory. */
bool frame_track_init(struct frame_track *ft, shadowdiff_host *host);
void frame_track_destroy(struct frame_track *ft);

/* The flags of gfn, or NULL when gfn is not RAM. */
uint8_t *frame_flags(struct frame_track *ft, uint64_t gfn);

/* Every flag of every frame cleared, for a shadow dropped whole. */
void frame_track_clear(struct frame_track *ft);

#endif /* SIMPLE_MMU_FRAME_TRACK_H_ */
