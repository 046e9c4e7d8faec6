#include "impl/fault_handler.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/spte.h"
#include "impl/bug_switches.h"
#include "impl/guest_walker.h"
#include "impl/role.h"
#include "impl/shadow_page.h"

namespace shadowdiff::impl {

Access LeafAccess(const GuestWalk& walk, const host::GuestControls& controls,
                  host::AccessKind kind, bool user) {
  Access access = walk.access;
  if (!walk.dirty) access &= ~kAccessWrite;
  if (kind == host::AccessKind::kWrite && !user && !controls.cr0_wp &&
      (walk.access & kAccessWrite) == 0) {
    access = (access | kAccessWrite) & ~kAccessUser;
  }
  return access;
}

host::FaultResolution FaultHandler::Handle(const host::GuestPagingState& state,
                                           uint64_t gva, host::AccessKind kind,
                                           bool user) {
  ++counters_.host_faults;
  const GuestWalk walk = walker_.Walk(state, gva, kind, user);
  if (!walk.ok) {
    ++counters_.guest_faults_injected;
    return host::FaultResolution::Inject(walk.error_code);
  }
  const uint64_t gfn = walk.gpa >> 12;
  if (!tables_.host().GfnToHfn(gfn).has_value()) {
    return host::FaultResolution::Emulate(walk.gpa);  // MMIO: never mapped
  }
  const Access leaf_access = LeafAccess(walk, state.controls, kind, user);
  if (!Map(state, gva, walk, leaf_access).ok()) {
    // Out of host frames: start again from nothing.
    tables_.ZapAll();
    return host::FaultResolution::Retry();
  }
  if (kind != host::AccessKind::kWrite || !tables_.IsWriteProtected(gfn)) {
    return host::FaultResolution::Retry();
  }
  if (unsync_ == nullptr || !unsync_->TryUnsync(gfn)) {
    return host::FaultResolution::Emulate(walk.gpa);
  }
  // The path is built: mapping again only makes the leaf writable, and the
  // store runs directly.
  if (!Map(state, gva, walk, leaf_access).ok()) tables_.ZapAll();
  return host::FaultResolution::Retry();
}

absl::Status FaultHandler::Map(const host::GuestPagingState& state,
                               uint64_t gva, const GuestWalk& walk,
                               Access leaf_access) {
  const Role base = BaseRole(state.controls, bugs_);
  absl::StatusOr<host::HostRoot> root = roots_.Current(state, base);
  if (!root.ok()) return root.status();
  const uint64_t gfn = walk.gpa >> 12;
  // The PAE root is a level-3 table of its own; a 4-level root is a page.
  int level = root->kind == host::HostRoot::Kind::kPae ? 3 : 4;
  ShadowPage* page = tables_.PageAt(root->hpa);
  uint64_t table = root->hpa;
  for (;; --level) {
    // A fault through the page is an access through it: not flooding.
    if (page != nullptr) page->write_flooding_count = 0;
    const uint64_t spte_hpa =
        table + 8 * ((gva >> LevelShift(level)) % kSptesPerPage);
    if (level == 1) {
      tables_.SetLeaf(*page, SpteIndex(spte_hpa), gfn, leaf_access);
      return absl::OkStatus();
    }
    // Down to the guest leaf's level the child shadows a guest table; below
    // it, a direct page maps part of the guest large page.
    const int child_level = level - 1;
    uint64_t child_gfn;
    Role child_role;
    if (child_level >= walk.leaf_level) {
      child_gfn = walk.table_gfn[child_level];
      child_role =
          IndirectRole(base, child_level, gva, walk.table_access[child_level]);
    } else {
      child_gfn = gfn & ~((uint64_t{1} << (9 * child_level)) - 1);
      child_role = DirectRole(base, child_level,
                              bugs_.Has(Bug::kDirectSpSharesRights)
                                  ? walk.table_access[walk.leaf_level]
                                  : leaf_access);
    }
    ShadowPage* child = nullptr;
    const uint64_t spte = tables_.host().ReadSpte(spte_hpa);
    if (host::spte::Present(spte)) {
      child = tables_.PageAt(host::spte::FrameAddress(spte));
      // A direct page's rights come from the guest leaf, whose D bit (or a
      // CR0.WP=0 supervisor write) changes them without any write to a
      // shadowed table: relink to the page with the rights wanted now.
      if (child->role.direct &&
          (child->gfn != child_gfn || child->role != child_role)) {
        tables_.ZapSpte(spte_hpa);
        child = nullptr;
      }
    }
    if (child == nullptr) {
      // A cached page linked under a new parent opens gvas to it that no
      // invalidation covered: it must be in sync first (KVM 65855ed8b034).
      ShadowPage* cached = tables_.Find(child_gfn, child_role);
      if (cached != nullptr && unsync_ != nullptr) {
        unsync_->SyncBeforeLink(state.controls, *cached);
      }
      absl::StatusOr<ShadowPage*> built =
          tables_.GetPage(child_gfn, child_role);
      if (!built.ok()) return built.status();
      child = *built;
      tables_.Link(spte_hpa, child);
    }
    page = child;
    table = child->hpa();
  }
}

}  // namespace shadowdiff::impl
