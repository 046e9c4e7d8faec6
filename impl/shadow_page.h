#ifndef SHADOWDIFF_IMPL_SHADOW_PAGE_H_
#define SHADOWDIFF_IMPL_SHADOW_PAGE_H_

#include <bitset>
#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "impl/role.h"

namespace shadowdiff::impl {

inline constexpr int kSptesPerPage = 512;

// The gva bits one entry of a shadow table at `level` covers start here.
int LevelShift(int level);

// Where an spte lives in its table frame.
int SpteIndex(uint64_t spte_hpa);

// One host table frame shadowing a guest table (or, direct, part of a guest
// large page). Identified by (gfn, role); owned by the PageCache.
struct ShadowPage {
  ShadowPage(uint64_t gfn, const Role& role, uint64_t hfn);

  uint64_t hpa() const { return hfn << 12; }
  uint64_t SpteHpa(int index) const { return hpa() + 8 * index; }
  // The gfn a leaf spte of this page maps (kept for the reverse map).
  uint64_t LeafGfn(int index) const;
  void SetLeafGfn(int index, uint64_t gfn);

  uint64_t gfn;
  Role role;
  uint64_t hfn;
  // The sptes pointing here (in parent shadow pages or the PAE root), so the
  // page can be unlinked and the gvas it serves found. Nearly always one.
  absl::InlinedVector<uint64_t, 2> parent_sptes;
  // Emulated writes to the guest table since a fault last went through this
  // page: a guest that keeps writing a table it does not use has probably
  // made it data again (write flooding).
  int write_flooding_count = 0;
  // Out-of-sync pages (impl/unsync.h). An unsync page is a last-level
  // shadow of a guest table the guest writes without an exit: its sptes may
  // lag the guest entries until the guest invalidates them.
  bool unsync = false;
  // Which sptes lead to an unsync page, or to a page with bits here (KVM's
  // unsync_children): a sync from a root descends only where they are set.
  // A superset: set whenever a link may lead to one, cleared by the sync
  // that finds nothing unsync left below.
  std::bitset<kSptesPerPage> unsync_children;

 private:
  // Indirect level-1 pages only: the gfn each leaf maps, by spte index. A
  // map, not a 512-entry array: most pages hold a handful of leaves, and a
  // shadow page is built on nearly every fault.
  absl::flat_hash_map<int, uint64_t> leaf_gfns_;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_SHADOW_PAGE_H_
