#include "impl/counters.h"

#include <vector>

#include "host/guest_mmu.h"

namespace shadowdiff::impl {

std::vector<host::Counter> MmuCounters::List() const {
  return {
      {"host_faults", host_faults},
      {"guest_faults_injected", guest_faults_injected},
      {"emulated_writes", emulated_writes},
      {"sptes_zapped", sptes_zapped},
      {"sptes_updated_in_place", sptes_updated_in_place},
      {"shadow_pages_created", shadow_pages_created},
      {"shadow_pages_zapped", shadow_pages_zapped},
      {"unshadows_flooding", unshadows_flooding},
      {"unshadows_misaligned", unshadows_misaligned},
      {"pages_unsynced", pages_unsynced},
      {"pages_synced", pages_synced},
      {"sptes_synced", sptes_synced},
      {"pde_writes_32bit", pde_writes_32bit},
      {"direct_pages_created", direct_pages_created},
      {"control_changes_with_live_shadows", control_changes_with_live_shadows},
      {"tlb_flushes_single", tlb_flushes_single},
      {"tlb_flushes_all", tlb_flushes_all},
      {"root_cache_hits", root_cache_hits},
  };
}

}  // namespace shadowdiff::impl
