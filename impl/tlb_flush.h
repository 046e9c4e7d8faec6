#ifndef SHADOWDIFF_IMPL_TLB_FLUSH_H_
#define SHADOWDIFF_IMPL_TLB_FLUSH_H_

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "host/host_services.h"
#include "impl/counters.h"

namespace shadowdiff::impl {

// The host TLB flushes one MMU operation owes, issued together before the
// guest runs again: one per gva while they are few, else one full flush.
class TlbFlushBatch {
 public:
  // Past this many gvas one full flush is cheaper than the singles.
  static constexpr size_t kMaxSingleFlushes = 16;

  void Add(uint64_t gva);
  void AddAll() { all_ = true; }
  bool all() const { return all_; }

  void Commit(host::HostServices& host, MmuCounters& counters);

  bool empty() const { return !all_ && gvas_.empty(); }
  // Hands the flushes of the pages in [base, base + size) to `to` (all of
  // them when this batch is a full flush).
  void MoveInto(TlbFlushBatch& to, uint64_t base, uint64_t size);
  void MoveAllInto(TlbFlushBatch& to);
  void Clear() {
    gvas_.clear();
    all_ = false;
  }

 private:
  absl::InlinedVector<uint64_t, kMaxSingleFlushes> gvas_;
  bool all_ = false;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_TLB_FLUSH_H_
