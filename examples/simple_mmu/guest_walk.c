/* guest_walk.c: the guest walk, one loop over a description of each mode, so
 * that the three modes differ only in their shape and their reserved bits. */
#include "guest_walk.h"

#include <string.h>

#define BITS(high, low) ((~UINT64_C(0) >> (63 - (high))) & (~UINT64_C(0) << (low)))

#define PTE_P (UINT64_C(1) << 0)
#define PTE_W (UINT64_C(1) << 1)
#define PTE_U (UINT64_C(1) << 2)
#define PTE_A (UINT64_C(1) << 5)
#define PTE_D (UINT64_C(1) << 6)
#define PTE_PS (UINT64_C(1) << 7)
#define PTE_NX (UINT64_C(1) << 63)

/* docs/semantics.md: the guest's MAXPHYADDR (proto/limits.h). */
#define GUEST_MAXPHYADDR 36

/* Levels are numbered as in the SDM's tables: 1 is the page table, the top
 * is `levels`. Every level below the top is indexed by index_bits bits of the
 * gva; the top may use fewer (PAE's four PDPTEs). */
struct mode_info {
	int levels;
	int entry_bytes;
	int index_bits;
	int top_index_bits;
	bool top_in_registers;	/* PAE: the PDPTE registers, not memory */
	uint64_t cr3_mask;	/* the CR3 bits that locate the top table */
	uint64_t frame_mask;	/* the entry bits that hold an address */
};

static const struct mode_info mode_infos[] = {
	/* SDM 4.3: PD at CR3[31:12], gva bits 31:22, then 21:12. */
	[SHADOWDIFF_MODE_32BIT] = {
		.levels = 2, .entry_bytes = 4, .index_bits = 10,
		.top_index_bits = 10, .top_in_registers = false,
		.cr3_mask = BITS(31, 12), .frame_mask = BITS(31, 12),
	},
	/* SDM 4.4: PDPTE registers from CR3[31:5] by gva bits 31:30, then
	 * 29:21 and 20:12. */
	[SHADOWDIFF_MODE_PAE] = {
		.levels = 3, .entry_bytes = 8, .index_bits = 9,
		.top_index_bits = 2, .top_in_registers = true,
		.cr3_mask = BITS(31, 5),
		.frame_mask = BITS(GUEST_MAXPHYADDR - 1, 12),
	},
	/* SDM 4.5: PML4 at CR3[MAXPHYADDR-1:12], gva bits 47:12. */
	[SHADOWDIFF_MODE_4LEVEL] = {
		.levels = 4, .entry_bytes = 8, .index_bits = 9,
		.top_index_bits = 9, .top_in_registers = false,
		.cr3_mask = BITS(GUEST_MAXPHYADDR - 1, 12),
		.frame_mask = BITS(GUEST_MAXPHYADDR - 1, 12),
	},
};

static int level_shift(const struct mode_info *m, int level)
{
	return 12 + (level - 1) * m->index_bits;
}

static uint64_t table_index(const struct mode_info *m, int level, uint64_t gva)
{
	int bits = level == m->levels ? m->top_index_bits : m->index_bits;

	return (gva >> level_shift(m, level)) & ((UINT64_C(1) << bits) - 1);
}

/* Little endian, whatever the host's byte order. A paging structure outside
 * RAM reads as zero entries, which are not present (docs/semantics.md). */
static uint64_t read_entry(shadowdiff_host *host, uint64_t gpa, int bytes)
{
	uint8_t buf[8] = { 0 };
	uint64_t value = 0;
	int i;

	if (!host->ops->read_guest(host, gpa, buf, (size_t)bytes))
		return 0;
	for (i = bytes - 1; i >= 0; i--)
		value = value << 8 | buf[i];
	return value;
}

static void write_entry(shadowdiff_host *host, uint64_t gpa, int bytes,
			uint64_t value)
{
	uint8_t buf[8];
	int i;

	for (i = 0; i < bytes; i++)
		buf[i] = (uint8_t)(value >> (8 * i));
	host->ops->write_guest(host, gpa, buf, (size_t)bytes);
}

/* SDM 4.6: XD exists only in PAE and 4-level entries, and only with
 * EFER.NXE=1; otherwise bit 63 is reserved (or absent, in 4-byte entries). */
static bool nx_applies(const shadowdiff_controls *c)
{
	return c->mode != SHADOWDIFF_MODE_32BIT && c->efer_nxe;
}

/* SDM 4.4.1 table 4-8: a PAE PDPTE has no R/W, U/S, A or XD, so those bits
 * are reserved too, whatever EFER.NXE says. */
static uint64_t pdpte_reserved(void)
{
	return BITS(63, GUEST_MAXPHYADDR) | BITS(8, 5) | BITS(2, 1);
}

/* The bits a present entry at level must have clear; they depend on its own
 * PS bit. SDM 4.3 (PSE-36 leaves bits 21:17 of a 4 MB PDE), 4.4.2 (62:36 in
 * PAE entries), 4.5 (51:36; PS in a PML4E; PS in a PDPTE without 1 GB
 * pages); a large page reserves the frame bits below its size but PAT. */
static uint64_t reserved_bits(const shadowdiff_controls *c, int level,
			      uint64_t entry)
{
	bool ps = (entry & PTE_PS) != 0;
	uint64_t nx = c->efer_nxe ? 0 : PTE_NX;
	uint64_t rsvd;

	switch (c->mode) {
	case SHADOWDIFF_MODE_32BIT:
		if (level == 2 && c->cr4_pse && ps)
			return BITS(21, GUEST_MAXPHYADDR - 19);
		return 0;
	case SHADOWDIFF_MODE_PAE:
		if (level == 3)
			return pdpte_reserved();
		rsvd = BITS(62, GUEST_MAXPHYADDR) | nx;
		if (level == 2 && ps)
			rsvd |= BITS(20, 13);
		return rsvd;
	default:
		rsvd = BITS(51, GUEST_MAXPHYADDR) | nx;
		if (level == 4)
			rsvd |= PTE_PS;
		if (level == 3 && ps)
			rsvd |= c->gbpages ? BITS(29, 13) : PTE_PS;
		if (level == 2 && ps)
			rsvd |= BITS(20, 13);
		return rsvd;
	}
}

/* Whether a present entry without reserved bits maps a page. With 32-bit
 * paging PS is ignored unless CR4.PSE=1 (SDM 4.3); where PS is not allowed
 * it was a reserved bit, so the walk never gets here with it. */
static bool maps_page(const shadowdiff_controls *c, int level, uint64_t entry)
{
	if (level == 1)
		return true;
	if (!(entry & PTE_PS))
		return false;
	return c->mode != SHADOWDIFF_MODE_32BIT || c->cr4_pse;
}

/* SDM 4.3 table 4-4 (PSE-36): a 4 MB page's gpa bits 35:32 are PDE bits
 * 16:13. Elsewhere the frame is the address bits above the page offset. */
static uint64_t page_frame(const shadowdiff_controls *c,
			   const struct mode_info *m, int level,
			   uint64_t entry)
{
	if (c->mode == SHADOWDIFF_MODE_32BIT && level == 2)
		return (entry & BITS(31, 22)) |
		       ((entry >> 13) & BITS(GUEST_MAXPHYADDR - 33, 0)) << 32;
	return entry & m->frame_mask & ~BITS(level_shift(m, level) - 1, 0);
}

/* SDM 4.7: W/R, U/S and I/D describe the access; I/D only when CR4.PAE=1
 * and EFER.NXE=1 (no SMEP), so never with 32-bit paging. */
static uint32_t access_bits(const shadowdiff_controls *c,
			    shadowdiff_access access, bool user)
{
	uint32_t bits = user ? SHADOWDIFF_PF_USER : 0;

	if (access == SHADOWDIFF_ACCESS_WRITE)
		bits |= SHADOWDIFF_PF_WRITE;
	if (access == SHADOWDIFF_ACCESS_FETCH && nx_applies(c))
		bits |= SHADOWDIFF_PF_FETCH;
	return bits;
}

/* SDM 4.6.1: user accesses need U/S=1 everywhere; a write needs R/W=1
 * everywhere unless it is a supervisor write with CR0.WP=0; a fetch needs
 * XD=0 everywhere. */
static bool rights_allow(const struct guest_walk *walk,
			 const shadowdiff_controls *c,
			 shadowdiff_access access, bool user)
{
	if (user && !walk->user)
		return false;
	if (access == SHADOWDIFF_ACCESS_WRITE)
		return walk->writable || (!user && !c->cr0_wp);
	if (access == SHADOWDIFF_ACCESS_FETCH)
		return !walk->nx;
	return true;
}

static void fault(struct guest_walk *walk, const shadowdiff_controls *c,
		  shadowdiff_access access, bool user, uint32_t kind)
{
	walk->ok = false;
	walk->error_code = kind | access_bits(c, access, user);
}

/* From the top down: P=0 ends the walk (nothing else of the entry counts),
 * then a reserved bit, then an entry that maps a page; any other entry
 * locates the next table. Rights are looked at only once the walk is
 * complete, so a reserved bit wins over a protection fault. */
void guest_walk(shadowdiff_host *host, const shadowdiff_paging_state *state,
		uint64_t gva, shadowdiff_access access, bool user,
		struct guest_walk *walk)
{
	const shadowdiff_controls *c = &state->controls;
	const struct mode_info *m = &mode_infos[c->mode];
	uint64_t table = state->cr3 & m->cr3_mask;
	int level;

	memset(walk, 0, sizeof(*walk));
	walk->writable = true;
	walk->user = true;
	for (level = m->levels;; level--) {
		int i = walk->nr_entries++;
		uint64_t index = table_index(m, level, gva);
		uint64_t entry;

		walk->entry_gpa[i] = table + index * (uint64_t)m->entry_bytes;
		if (m->top_in_registers && level == m->levels) {
			walk->in_register[i] = true;
			entry = state->pdptes[index];
		} else {
			entry = read_entry(host, walk->entry_gpa[i],
					   m->entry_bytes);
		}
		if (!(entry & PTE_P)) {
			fault(walk, c, access, user, 0);
			return;
		}
		if (entry & reserved_bits(c, level, entry)) {
			fault(walk, c, access, user,
			      SHADOWDIFF_PF_PRESENT | SHADOWDIFF_PF_RESERVED);
			return;
		}
		if (!walk->in_register[i]) {
			walk->writable = walk->writable && (entry & PTE_W);
			walk->user = walk->user && (entry & PTE_U);
			walk->nx = walk->nx || (nx_applies(c) && (entry & PTE_NX));
		}
		if (maps_page(c, level, entry)) {
			walk->gpa = page_frame(c, m, level, entry) |
				    (gva & BITS(level_shift(m, level) - 1, 0));
			walk->dirty = (entry & PTE_D) != 0;
			if (rights_allow(walk, c, access, user))
				walk->ok = true;
			else
				fault(walk, c, access, user,
				      SHADOWDIFF_PF_PRESENT);
			return;
		}
		table = entry & m->frame_mask;
	}
}

/* Each entry is read again before it is updated, so that one entry serving
 * at two levels keeps both updates; an entry that has its flags already is
 * not written at all, as the processor does not write it. */
void guest_set_accessed_dirty(shadowdiff_host *host,
			      const shadowdiff_paging_state *state,
			      const struct guest_walk *walk, bool write)
{
	int bytes = mode_infos[state->controls.mode].entry_bytes;
	int i;

	SHADOWDIFF_BUG_ON(host, !walk->ok);
	for (i = 0; i < walk->nr_entries; i++) {
		bool leaf = i == walk->nr_entries - 1;
		uint64_t flags = PTE_A | (leaf && write ? PTE_D : 0);
		uint64_t entry;

		if (walk->in_register[i])
			continue;
		entry = read_entry(host, walk->entry_gpa[i], bytes);
		if ((entry & flags) != flags)
			write_entry(host, walk->entry_gpa[i], bytes,
				    entry | flags);
	}
}

/* SDM 4.4.1: a not-present PDPTE is loaded as it is; a present one with a
 * reserved bit fails the whole load. */
bool guest_load_pdptes(shadowdiff_host *host, uint64_t cr3,
		       uint64_t pdptes[4])
{
	const struct mode_info *m = &mode_infos[SHADOWDIFF_MODE_PAE];
	uint64_t loaded[4];
	int i;

	for (i = 0; i < 4; i++) {
		loaded[i] = read_entry(host, (cr3 & m->cr3_mask) + 8 * (uint64_t)i,
				       m->entry_bytes);
		if ((loaded[i] & PTE_P) && (loaded[i] & pdpte_reserved()))
			return false;
	}
	memcpy(pdptes, loaded, sizeof(loaded));
	return true;
}
