/* frame_track.c: per-slot flag arrays, as a hypervisor keeps per-memslot
 * arrays (KVM's gfn_write_track): a lookup is a search of a few slots. */
#include "frame_track.h"

#include <stdlib.h>
#include <string.h>

bool frame_track_init(struct frame_track *ft, shadowdiff_host *host)
{
	shadowdiff_memslot none;
	size_t i, n;

	memset(ft, 0, sizeof(*ft));
	n = host->ops->memslots(host, &none, 0);
	if (n == 0)
		return true;
	ft->slots = calloc(n, sizeof(*ft->slots));
	ft->flags = calloc(n, sizeof(*ft->flags));
	if (!ft->slots || !ft->flags)
		goto fail;
	ft->nr_slots = host->ops->memslots(host, ft->slots, n);
	if (ft->nr_slots > n)
		ft->nr_slots = n;
	for (i = 0; i < ft->nr_slots; i++) {
		ft->flags[i] = calloc(ft->slots[i].pages ? ft->slots[i].pages : 1,
				      sizeof(**ft->flags));
		if (!ft->flags[i])
			goto fail;
	}
	return true;
fail:
	frame_track_destroy(ft);
	return false;
}

void frame_track_destroy(struct frame_track *ft)
{
	size_t i;

	for (i = 0; ft->flags && i < ft->nr_slots; i++)
		free(ft->flags[i]);
	free(ft->flags);
	free(ft->slots);
	memset(ft, 0, sizeof(*ft));
}

uint8_t *frame_flags(struct frame_track *ft, uint64_t gfn)
{
	size_t i;

	for (i = 0; i < ft->nr_slots; i++) {
		const shadowdiff_memslot *s = &ft->slots[i];

		if (gfn >= s->base_gfn && gfn - s->base_gfn < s->pages)
			return &ft->flags[i][gfn - s->base_gfn];
	}
	return NULL;
}

void frame_track_clear(struct frame_track *ft)
{
	size_t i;

	for (i = 0; i < ft->nr_slots; i++)
		memset(ft->flags[i], 0, ft->slots[i].pages);
}
