#include "impl/rmap.h"

#include <cstdint>
#include <span>
#include <vector>

namespace shadowdiff::impl {

void Rmap::Add(uint64_t gfn, uint64_t spte_hpa) {
  map_[gfn].push_back(spte_hpa);
}

void Rmap::Remove(uint64_t gfn, uint64_t spte_hpa) {
  auto it = map_.find(gfn);
  if (it == map_.end()) return;
  std::erase(it->second, spte_hpa);
  if (it->second.empty()) map_.erase(it);
}

std::span<const uint64_t> Rmap::Sptes(uint64_t gfn) const {
  auto it = map_.find(gfn);
  if (it == map_.end()) return {};
  return it->second;
}

}  // namespace shadowdiff::impl
