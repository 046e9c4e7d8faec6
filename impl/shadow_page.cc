#include "impl/shadow_page.h"

#include <cstdint>

#include "impl/role.h"

namespace shadowdiff::impl {

int LevelShift(int level) { return 12 + 9 * (level - 1); }

int SpteIndex(uint64_t spte_hpa) {
  return static_cast<int>((spte_hpa & 0xFFF) / 8);
}

ShadowPage::ShadowPage(uint64_t gfn, const Role& role, uint64_t hfn)
    : gfn(gfn), role(role), hfn(hfn) {}

uint64_t ShadowPage::LeafGfn(int index) const {
  // A direct page maps consecutive frames from its gfn.
  if (role.direct) return gfn + index;
  auto it = leaf_gfns_.find(index);
  return it == leaf_gfns_.end() ? 0 : it->second;
}

void ShadowPage::SetLeafGfn(int index, uint64_t gfn) {
  if (!role.direct) leaf_gfns_[index] = gfn;
}

}  // namespace shadowdiff::impl
