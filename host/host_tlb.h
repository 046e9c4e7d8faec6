#ifndef SHADOWDIFF_HOST_HOST_TLB_H_
#define SHADOWDIFF_HOST_HOST_TLB_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "host/guest_state.h"

namespace shadowdiff::host {

// One cached translation: the page [gva, gva + page_size) -> hpa.
struct HostTlbEntry {
  uint64_t gva = 0;  // page base
  uint64_t page_size = 0;
  uint64_t hpa = 0;  // page base
  bool writable = false;
  bool user = false;
  bool nx = false;
  bool dirty = false;  // the leaf's D bit when the walk was cached

  bool operator==(const HostTlbEntry&) const = default;
};

// The host TLB. It has no capacity limit and drops entries only when told to:
// a translation the MMU forgot to flush stays and is used, which is exactly
// what the fuzzer wants to see.
class HostTlb {
 public:
  // Sized for a typical case, so that the 4 KB entries do not grow step by
  // step.
  HostTlb() { entries_[0].reserve(32); }

  // The entry that serves this access of gva, if any. A write through a clean
  // entry misses: hardware walks again to set D (SDM 4.8). Where entries of
  // several sizes contain gva (tables changed without a flush), the smallest
  // wins, so the choice is deterministic.
  std::optional<HostTlbEntry> Lookup(uint64_t gva, AccessKind kind) const;

  // Caches what a walk of gva found; it supersedes every entry containing gva.
  void Fill(uint64_t gva, const HostTlbEntry& entry);

  // Drops every entry whose page contains gva.
  void Flush(uint64_t gva);
  void FlushAll();

  // Every entry, by gva and then page size.
  std::vector<HostTlbEntry> Entries() const;
  // Every entry, in no particular order, without copying them out.
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (const auto& entries : entries_) {
      for (const auto& [gva, entry] : entries) visit(entry);
    }
  }

 private:
  static constexpr std::array<uint64_t, 3> kPageSizes = {
      uint64_t{1} << 12, uint64_t{1} << 21, uint64_t{1} << 30};

  // Per page size, smallest first, keyed by page base.
  std::array<absl::flat_hash_map<uint64_t, HostTlbEntry>, kPageSizes.size()>
      entries_;
};

}  // namespace shadowdiff::host

#endif  // SHADOWDIFF_HOST_HOST_TLB_H_
