#ifndef SHADOWDIFF_IMPL_COUNTERS_H_
#define SHADOWDIFF_IMPL_COUNTERS_H_

#include <cstdint>
#include <vector>

#include "host/guest_mmu.h"

namespace shadowdiff::impl {

// What the MMU did, for `shadowdiff explain` and the benchmarks: the numbers
// that show whether keeping shadows pays (faults, pages built) and whether
// flushes are exact (single against full).
struct MmuCounters {
  uint64_t host_faults = 0;
  uint64_t guest_faults_injected = 0;
  uint64_t emulated_writes = 0;
  uint64_t sptes_zapped = 0;
  uint64_t sptes_updated_in_place = 0;
  uint64_t shadow_pages_created = 0;
  uint64_t shadow_pages_zapped = 0;
  uint64_t unshadows_flooding = 0;
  uint64_t unshadows_misaligned = 0;
  // Out-of-sync pages: pages unsynced, pages synced again, sptes synced one
  // by one at an invalidation.
  uint64_t pages_unsynced = 0;
  uint64_t pages_synced = 0;
  uint64_t sptes_synced = 0;
  // Situations worth reaching, for `shadowdiff coverage`.
  uint64_t pde_writes_32bit = 0;  // a write to a shadowed 32-bit guest PDE
  uint64_t direct_pages_created = 0;
  uint64_t control_changes_with_live_shadows = 0;
  uint64_t tlb_flushes_single = 0;
  uint64_t tlb_flushes_all = 0;
  uint64_t root_cache_hits = 0;

  std::vector<host::Counter> List() const;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_COUNTERS_H_
