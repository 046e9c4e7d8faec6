#include "impl/shadow_page.h"

#include <cstdint>

#include "impl/role.h"

namespace shadowdiff::impl {

int LevelShift(int level) { return 12 + 9 * (level - 1); }

int SpteIndex(uint64_t spte_hpa) {
  return static_cast<int>((spte_hpa & 0xFFF) / 8);
}

ShadowPage::ShadowPage(uint64_t gfn, const Role& role, uint64_t hfn)
    : gfn(gfn), role(role), hfn(hfn) {
  if (role.level == 1 && !role.direct) leaf_gfns_.resize(kSptesPerPage);
}

uint64_t ShadowPage::LeafGfn(int index) const {
  // A direct page maps consecutive frames from its gfn.
  return role.direct ? gfn + index : leaf_gfns_[index];
}

void ShadowPage::SetLeafGfn(int index, uint64_t gfn) {
  if (!role.direct) leaf_gfns_[index] = gfn;
}

}  // namespace shadowdiff::impl
