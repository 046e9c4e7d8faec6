#include "impl/tlb_flush.h"

#include <algorithm>
#include <cstdint>

#include "host/host_services.h"
#include "impl/counters.h"

namespace shadowdiff::impl {

void TlbFlushBatch::Add(uint64_t gva) {
  if (all_) return;
  const uint64_t page = gva & ~uint64_t{0xFFF};
  if (std::find(gvas_.begin(), gvas_.end(), page) != gvas_.end()) return;
  if (gvas_.size() == kMaxSingleFlushes) {
    all_ = true;
    gvas_.clear();
    return;
  }
  gvas_.push_back(page);
}

void TlbFlushBatch::MoveInto(TlbFlushBatch& to, uint64_t base, uint64_t size) {
  if (all_) return MoveAllInto(to);
  auto kept = std::remove_if(gvas_.begin(), gvas_.end(), [&](uint64_t gva) {
    if (gva - base >= size) return false;
    to.Add(gva);
    return true;
  });
  gvas_.erase(kept, gvas_.end());
}

void TlbFlushBatch::MoveAllInto(TlbFlushBatch& to) {
  if (all_) to.AddAll();
  for (uint64_t gva : gvas_) to.Add(gva);
  Clear();
}

void TlbFlushBatch::Commit(host::HostServices& host, MmuCounters& counters) {
  if (all_) {
    host.FlushTlbAll(host::VcpuSet::All());
    ++counters.tlb_flushes_all;
  } else {
    for (uint64_t gva : gvas_) {
      host.FlushTlb(host::VcpuSet::All(), gva);
      ++counters.tlb_flushes_single;
    }
  }
  gvas_.clear();
  all_ = false;
}

}  // namespace shadowdiff::impl
