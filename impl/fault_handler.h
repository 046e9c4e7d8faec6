#ifndef SHADOWDIFF_IMPL_FAULT_HANDLER_H_
#define SHADOWDIFF_IMPL_FAULT_HANDLER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "impl/bug_switches.h"
#include "impl/counters.h"
#include "impl/guest_walker.h"
#include "impl/role.h"
#include "impl/roots.h"
#include "impl/shadow_tables.h"
#include "impl/unsync.h"

namespace shadowdiff::impl {

// The rights the leaf spte for this (successful) access gets. Writable only
// once the guest leaf is dirty, so the first write faults and sets D. Under
// CR0.WP=0 a supervisor write to a read-only page is allowed: the page is
// mapped writable for the supervisor only, so user accesses still fault (and
// CR0.WP is in the role, so the mapping dies with a WP change).
Access LeafAccess(const GuestWalk& walk, const host::GuestControls& controls,
                  host::AccessKind kind, bool user);

// A host page fault (KVM's paging_tmpl.h page_fault + fetch): walk the guest
// tables; inject the guest's fault, or emulate the access (MMIO, stores to
// write-protected guest tables), or build the shadow path and the leaf.
// With out-of-sync pages (`unsync` not null), a store to a write-protected
// last-level table unsyncs it rather than being emulated, and a shadow page
// is synced before it is linked anywhere new.
class FaultHandler {
 public:
  FaultHandler(ShadowTables& tables, Roots& roots, GuestWalker& walker,
               OutOfSyncPages* unsync, const BugSet& bugs,
               MmuCounters& counters)
      : tables_(tables),
        roots_(roots),
        walker_(walker),
        unsync_(unsync),
        bugs_(bugs),
        counters_(counters) {}

  host::FaultResolution Handle(const host::GuestPagingState& state,
                               uint64_t gva, host::AccessKind kind, bool user);

 private:
  // Walks the shadow tables down to gva's leaf in step with the guest walk,
  // building and linking the shadow pages missing on the way, then sets the
  // leaf. Fails only when the host has no frame left.
  absl::Status Map(const host::GuestPagingState& state, uint64_t gva,
                   const GuestWalk& walk, Access leaf_access);

  ShadowTables& tables_;
  Roots& roots_;
  GuestWalker& walker_;
  OutOfSyncPages* unsync_;
  BugSet bugs_;
  MmuCounters& counters_;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_FAULT_HANDLER_H_
