#ifndef SHADOWDIFF_IMPL_UNSYNC_H_
#define SHADOWDIFF_IMPL_UNSYNC_H_

#include <cstdint>

#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "impl/bug_switches.h"
#include "impl/counters.h"
#include "impl/shadow_page.h"
#include "impl/shadow_tables.h"

namespace shadowdiff::impl {

// Out-of-sync shadow pages, KVM's design since 2008 (Documentation/virt/kvm/
// x86/mmu.rst, "Synchronized and unsynchronized pages"): the guest may write
// its last-level tables with no exit, because the architecture lets it see a
// changed PTE only once it has invalidated the translation (SDM 4.10.4.2).
// The shadows catch up then:
//  - unsync: a guest store that faults on a write-protected table gfn
//    unsyncs its shadows instead of being emulated, when all of them are
//    last-level and indirect (mmu_try_to_unsync_pages); a gfn also shadowed
//    as a directory stays write-protected, as directories are never unsync;
//  - sync one spte: the guest invalidated one address (INVLPG, or the #PF it
//    took), so the spte that maps it in an unsync page is rebuilt from the
//    guest entry (FNAME(invlpg));
//  - sync what a root reaches: a CR3 load or a control change invalidated
//    the address space, so every unsync page under the root is synced,
//    found through the unsync_children bits (kvm_mmu_sync_roots);
//  - sync before linking: a page linked under a new parent is reached from
//    gvas that were not mapped through it before, with no invalidation that
//    would have synced it (KVM 65855ed8b034);
//  - syncing a page rebuilds every present spte from the guest entry, with
//    the rights of the page's role, or zaps it, then write-protects the gfn
//    again (kvm_sync_page).
// Making an spte current is always allowed, so each sync point syncs more
// than the architecture requires rather than less: a CR3 load syncs global
// translations too, and only a reload of the same root and PCID with the
// no-flush bit, which invalidates nothing, syncs nothing.
class OutOfSyncPages {
 public:
  OutOfSyncPages(ShadowTables& tables, const BugSet& bugs,
                 MmuCounters& counters)
      : tables_(tables), bugs_(bugs), counters_(counters) {}

  // A guest store to the write-protected table at gfn faulted: whether its
  // shadows are unsync now and the gfn writable (else the store is
  // emulated).
  bool TryUnsync(uint64_t gfn);

  // The guest invalidated gva, whose leaf spte is at leaf_spte_hpa: if it is
  // in an unsync page it is brought up to date and its host TLB entry
  // flushed. False when it is not in an unsync page.
  bool SyncLeaf(const host::GuestControls& controls, uint64_t leaf_spte_hpa,
                uint64_t gva);

  // Syncs every unsync page `root` reaches.
  void SyncReachable(const host::GuestControls& controls,
                     const host::HostRoot& root);

  // `child` is about to be linked under a new parent spte: it and the pages
  // under it are synced first.
  void SyncBeforeLink(const host::GuestControls& controls, ShadowPage& child);

 private:
  void SyncPage(const host::GuestControls& controls, ShadowPage& page);
  // Syncs the unsync pages below page's unsync_children bits, clearing them.
  void SyncChildren(const host::GuestControls& controls, ShadowPage& page);
  // Rebuilds leaf spte `index` of an unsync page from its guest entry.
  void SyncSpte(const host::GuestControls& controls, ShadowPage& page,
                int index);

  ShadowTables& tables_;
  BugSet bugs_;
  MmuCounters& counters_;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_UNSYNC_H_
