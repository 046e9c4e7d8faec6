#ifndef SHADOWDIFF_IMPL_RMAP_H_
#define SHADOWDIFF_IMPL_RMAP_H_

#include <cstdint>
#include <span>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"

namespace shadowdiff::impl {

// The reverse map: for each guest frame, the leaf sptes (by host address)
// that map it. Write-protecting a frame that becomes a guest table then costs
// as much as it has mappings, not a scan of every shadow table.
class Rmap {
 public:
  void Add(uint64_t gfn, uint64_t spte_hpa);
  void Remove(uint64_t gfn, uint64_t spte_hpa);
  // In the order they were added.
  std::span<const uint64_t> Sptes(uint64_t gfn) const;
  void Clear() { map_.clear(); }

 private:
  // A frame is nearly always mapped once or twice.
  absl::flat_hash_map<uint64_t, absl::InlinedVector<uint64_t, 2>> map_;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_RMAP_H_
