/* shadow_table.c: a PML4 and the tables under it. Only 4 KB leaves are ever
 * installed, so every present entry above level 1 points at a table. */
#include "shadow_table.h"

#define SHADOW_LEVELS 4
/* A table entry grants everything: the host ANDs rights down the walk, so
 * the leaf alone decides what the guest may do. */
#define TABLE_SPTE_RIGHTS \
	(SHADOWDIFF_SPTE_PRESENT | SHADOWDIFF_SPTE_WRITABLE | SHADOWDIFF_SPTE_USER)

static unsigned int spte_index(uint64_t gva, int level)
{
	return (unsigned int)(gva >> (12 + 9 * (level - 1))) %
	       SHADOWDIFF_ENTRIES_PER_TABLE;
}

static uint64_t *alloc_table(struct shadow_table *st)
{
	return st->host->ops->alloc_table(st->host);
}

static uint64_t *child_table(struct shadow_table *st, uint64_t spte)
{
	uint64_t *table = shadowdiff_table_ptr(st->host,
					       spte & SHADOWDIFF_SPTE_FRAME_MASK);

	SHADOWDIFF_BUG_ON(st->host, table == NULL);
	return table;
}

bool shadow_root_hpa(struct shadow_table *st, uint64_t *hpa)
{
	if (!st->root)
		st->root = alloc_table(st);
	if (!st->root)
		return false;
	*hpa = shadowdiff_table_hpa(st->host, st->root);
	return true;
}

bool shadow_map(struct shadow_table *st, uint64_t gva, uint64_t spte)
{
	uint64_t *table, *leaf, old, hpa;
	int level;

	if (!shadow_root_hpa(st, &hpa))
		return false;
	table = st->root;
	for (level = SHADOW_LEVELS; level > 1; level--) {
		uint64_t *entry = &table[spte_index(gva, level)];

		if (!(*entry & SHADOWDIFF_SPTE_PRESENT)) {
			uint64_t *child = alloc_table(st);

			if (!child)
				return false;
			*entry = shadowdiff_table_hpa(st->host, child) |
				 TABLE_SPTE_RIGHTS;
		}
		table = child_table(st, *entry);
		if (!table)
			return false;
	}
	leaf = &table[spte_index(gva, 1)];
	old = *leaf;
	*leaf = spte;
	/* The replaced leaf may have granted what the new one does not. */
	if (old & SHADOWDIFF_SPTE_PRESENT)
		st->host->ops->flush_tlb_gva(st->host, SHADOWDIFF_ALL_VCPUS,
					     gva);
	return true;
}

static void free_tree(struct shadow_table *st, uint64_t *table, int level)
{
	int i;

	for (i = 0; level > 1 && i < SHADOWDIFF_ENTRIES_PER_TABLE; i++) {
		uint64_t *child;

		if (!(table[i] & SHADOWDIFF_SPTE_PRESENT))
			continue;
		child = child_table(st, table[i]);
		if (child)
			free_tree(st, child, level - 1);
	}
	st->host->ops->free_table(st->host, table);
}

void shadow_free_all(struct shadow_table *st)
{
	if (st->root)
		free_tree(st, st->root, SHADOW_LEVELS);
	st->root = NULL;
}
