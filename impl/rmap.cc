#include "impl/rmap.h"

#include <algorithm>
#include <cstdint>
#include <span>

namespace shadowdiff::impl {

void Rmap::Add(uint64_t gfn, uint64_t spte_hpa) {
  map_[gfn].push_back(spte_hpa);
}

void Rmap::Remove(uint64_t gfn, uint64_t spte_hpa) {
  auto it = map_.find(gfn);
  if (it == map_.end()) return;
  auto& sptes = it->second;
  sptes.erase(std::remove(sptes.begin(), sptes.end(), spte_hpa), sptes.end());
  if (sptes.empty()) map_.erase(it);
}

std::span<const uint64_t> Rmap::Sptes(uint64_t gfn) const {
  auto it = map_.find(gfn);
  if (it == map_.end()) return {};
  return it->second;
}

}  // namespace shadowdiff::impl
