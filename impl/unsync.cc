#include "impl/unsync.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "absl/container/inlined_vector.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/spte.h"
#include "impl/bug_switches.h"
#include "impl/guest_entry.h"
#include "impl/role.h"
#include "impl/shadow_page.h"

namespace shadowdiff::impl {
namespace {

using host::spte::Present;

}  // namespace

bool OutOfSyncPages::TryUnsync(uint64_t gfn) {
  const std::span<ShadowPage* const> shadows =
      tables_.pages().IndirectPagesOf(gfn);
  const absl::InlinedVector<ShadowPage*, 2> pages(shadows.begin(),
                                                  shadows.end());
  bool has_leaf_table = false;
  for (const ShadowPage* page : pages) {
    has_leaf_table = has_leaf_table || page->role.level == 1;
    // unsync-beside-upper-shadow: the directory shadows of the gfn are
    // overlooked, so writes to the table in that role are never seen.
    if (page->role.level != 1 && !bugs_.Has(Bug::kUnsyncBesideUpperShadow)) {
      return false;
    }
  }
  if (!has_leaf_table) return false;
  for (ShadowPage* page : pages) {
    if (page->role.level == 1 && !page->unsync) tables_.MarkUnsync(page);
  }
  tables_.AllowWrites(gfn);
  return true;
}

bool OutOfSyncPages::SyncLeaf(const host::GuestControls& controls,
                              uint64_t leaf_spte_hpa, uint64_t gva) {
  ShadowPage* page = tables_.PageAt(leaf_spte_hpa);
  if (page == nullptr || !page->unsync) return false;
  // invlpg-skips-sync: the host TLB is flushed, the spte left as it was, so
  // the next access refills the TLB from the stale spte.
  if (!bugs_.Has(Bug::kInvlpgSkipsSync)) {
    SyncSpte(controls, *page, SpteIndex(leaf_spte_hpa));
  }
  tables_.QueueFlush(gva);
  return true;
}

void OutOfSyncPages::SyncReachable(const host::GuestControls& controls,
                                   const host::HostRoot& root) {
  if (root.kind == host::HostRoot::Kind::k4Level) {
    if (ShadowPage* top = tables_.PageAt(root.hpa)) {
      SyncChildren(controls, *top);
    }
    return;
  }
  // The PAE root keeps no bits: its four entries are looked at.
  for (int i = 0; i < 4; ++i) {
    const uint64_t entry = tables_.host().ReadSpte(root.hpa + 8 * i);
    if (!Present(entry)) continue;
    if (ShadowPage* pd = tables_.PageAt(host::spte::FrameAddress(entry))) {
      SyncChildren(controls, *pd);
    }
  }
}

void OutOfSyncPages::SyncBeforeLink(const host::GuestControls& controls,
                                    ShadowPage& child) {
  // unsync-child-linked-stale: the page is linked as it is, so the gvas the
  // new link opens see entries the guest changed before it made the link,
  // which needs no invalidation (not-present entries are never cached, SDM
  // 4.10.2.3).
  if (bugs_.Has(Bug::kUnsyncChildLinkedStale)) return;
  if (child.unsync) {
    SyncPage(controls, child);
  } else if (child.unsync_children.any()) {
    SyncChildren(controls, child);
  }
}

void OutOfSyncPages::SyncPage(const host::GuestControls& controls,
                              ShadowPage& page) {
  std::array<uint64_t, kSptesPerPage> sptes;
  tables_.host().ReadTable(page.hfn, sptes);
  for (int i = 0; i < kSptesPerPage; ++i) {
    if (Present(sptes[i])) SyncSpte(controls, page, i);
  }
  tables_.MarkSynced(&page);
}

void OutOfSyncPages::SyncChildren(const host::GuestControls& controls,
                                  ShadowPage& page) {
  for (int i = 0; i < kSptesPerPage; ++i) {
    if (!page.unsync_children.test(i)) continue;
    page.unsync_children.reset(i);
    const uint64_t spte = tables_.host().ReadSpte(page.SpteHpa(i));
    if (!Present(spte)) continue;
    ShadowPage* child = tables_.PageAt(host::spte::FrameAddress(spte));
    if (child == nullptr) continue;
    if (child->unsync) {
      SyncPage(controls, *child);
    } else if (child->unsync_children.any()) {
      SyncChildren(controls, *child);
    }
  }
}

void OutOfSyncPages::SyncSpte(const host::GuestControls& controls,
                              ShadowPage& page, int index) {
  ++counters_.sptes_synced;
  const uint64_t spte_hpa = page.SpteHpa(index);
  // A page built under other controls reads its guest entries otherwise:
  // it is not reachable now, and what it maps is dropped.
  if (!ReadsEntriesAs(page.role, BaseRole(controls, bugs_))) {
    tables_.ZapSpte(spte_hpa);
    return;
  }
  const int guest_levels = page.role.guest_levels;
  const int entry_bytes = guest_entry::EntryBytes(guest_levels);
  // A 32-bit guest PT has 1024 entries, shadowed by two pages of 512.
  const int entry_index =
      guest_levels == 2 ? page.role.quadrant * kSptesPerPage + index : index;
  const uint64_t pte = guest_entry::Read(
      tables_.host(), (page.gfn << 12) + entry_index * entry_bytes,
      entry_bytes);
  const std::optional<guest_entry::PteLeaf> leaf =
      guest_entry::ReadPteLeaf(pte, controls, page.role.access);
  if (!leaf.has_value()) {
    tables_.ZapSpte(spte_hpa);
    return;
  }
  // sync-keeps-old-frame: the rights are brought up to date, the frame is
  // the one the spte mapped before the guest pointed the entry elsewhere.
  const uint64_t gfn =
      bugs_.Has(Bug::kSyncKeepsOldFrame) ? page.LeafGfn(index) : leaf->gfn;
  tables_.SetLeaf(page, index, gfn, leaf->access);
}

}  // namespace shadowdiff::impl
