#ifndef SHADOWDIFF_IMPL_PAGE_CACHE_H_
#define SHADOWDIFF_IMPL_PAGE_CACHE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "impl/role.h"
#include "impl/shadow_page.h"

namespace shadowdiff::impl {

// Every shadow page, found in O(1) by what it shadows (gfn, role), by its
// host frame, and by guest frame for the indirect ones (the guest tables
// that are write-protected).
class PageCache {
 public:
  ShadowPage* Find(uint64_t gfn, const Role& role) const;
  ShadowPage* AtFrame(uint64_t hfn) const;

  // Indirect pages shadowing the guest table at gfn, oldest first.
  std::span<ShadowPage* const> IndirectPagesOf(uint64_t gfn) const;
  bool IsShadowedTable(uint64_t gfn) const {
    return indirect_by_gfn_.contains(gfn);
  }

  ShadowPage* Insert(std::unique_ptr<ShadowPage> page);
  void Remove(ShadowPage* page);
  void Clear();

  // Every page, by host frame (a deterministic order).
  std::vector<ShadowPage*> All() const;
  size_t size() const { return pages_.size(); }

 private:
  struct Key {
    uint64_t gfn;
    Role role;

    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.gfn, k.role);
    }
  };

  absl::flat_hash_map<Key, std::unique_ptr<ShadowPage>> pages_;
  absl::flat_hash_map<uint64_t, ShadowPage*> by_frame_;
  // A guest table is nearly always shadowed under one or two roles.
  absl::flat_hash_map<uint64_t, absl::InlinedVector<ShadowPage*, 2>>
      indirect_by_gfn_;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_PAGE_CACHE_H_
