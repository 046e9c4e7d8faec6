#include "impl/shadow_tables.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "host/guest_mmu.h"
#include "host/spte.h"
#include "impl/bug_switches.h"
#include "impl/role.h"
#include "impl/shadow_page.h"

namespace shadowdiff::impl {
namespace {

constexpr int kPaeRootLevel = 3;

using host::spte::Present;

uint64_t FrameOf(uint64_t spte) { return host::spte::FrameAddress(spte); }

// Links grant every right: the leaf decides.
uint64_t LinkSpte(const ShadowPage& child) {
  return child.hpa() | host::spte::kPresent | host::spte::kWritable |
         host::spte::kUser | host::spte::kAccessed;
}

}  // namespace

uint64_t LeafSpte(uint64_t hfn, Access access) {
  uint64_t spte = (hfn << 12) | host::spte::kPresent | host::spte::kAccessed;
  if ((access & kAccessWrite) != 0) {
    spte |= host::spte::kWritable | host::spte::kDirty;
  }
  if ((access & kAccessUser) != 0) spte |= host::spte::kUser;
  if ((access & kAccessExec) == 0) spte |= host::spte::kNx;
  return spte;
}

namespace {

// Whether replacing leaf `before` by `after` can leave a TLB entry that
// allows more than `after` does.
bool LosesTranslationOrRights(uint64_t before, uint64_t after) {
  using namespace host::spte;
  if (FrameOf(before) != FrameOf(after)) return true;
  const uint64_t lost = before & ~after & (kWritable | kUser);
  const bool gains_nx = (after & ~before & kNx) != 0;
  return lost != 0 || gains_nx;
}

// Bits 63:48 copy bit 47, as the host TLB is indexed by canonical gvas.
uint64_t Canonical(uint64_t gva) {
  return static_cast<uint64_t>(static_cast<int64_t>(gva << 16) >> 16);
}

// Forgets that the spte at spte_hpa points at child.
void Unlink(ShadowPage* child, uint64_t spte_hpa) {
  auto& parents = child->parent_sptes;
  parents.erase(std::remove(parents.begin(), parents.end(), spte_hpa),
                parents.end());
}

}  // namespace

absl::StatusOr<ShadowPage*> ShadowTables::GetPage(uint64_t gfn,
                                                  const Role& role) {
  if (ShadowPage* page = cache_.Find(gfn, role)) return page;
  absl::StatusOr<uint64_t> hfn = host_.AllocateFrame();
  if (!hfn.ok()) return hfn.status();
  const bool was_unsync = !role.direct && unsync_gfns_.erase(gfn) > 0;
  // Unsync pages of the gfn may outlive its write protection (a later
  // last-level shadow restored it), so they are looked for whatever the
  // gfn's state.
  if (!role.direct && role.level > 1) {
    const std::span<ShadowPage* const> shadows = cache_.IndirectPagesOf(gfn);
    const absl::InlinedVector<ShadowPage*, 2> unsync(shadows.begin(),
                                                     shadows.end());
    for (ShadowPage* stale : unsync) {
      if (stale->unsync) ZapPage(stale);
    }
  }
  ShadowPage* page =
      cache_.Insert(std::make_unique<ShadowPage>(gfn, role, *hfn));
  ++counters_.shadow_pages_created;
  if (role.direct) ++counters_.direct_pages_created;
  if (!role.direct && (was_unsync || cache_.IndirectPagesOf(gfn).size() == 1)) {
    WriteProtect(gfn);
  }
  return page;
}

void ShadowTables::MarkUnsync(ShadowPage* page) {
  page->unsync = true;
  unsync_frames_.insert(page->hfn);
  ++counters_.pages_unsynced;
  MarkParentsUnsync(page);
}

void ShadowTables::MarkParentsUnsync(const ShadowPage* page) {
  for (uint64_t parent_spte : page->parent_sptes) {
    ShadowPage* parent = PageAt(parent_spte);
    // The PAE root has no bits: a sync from it looks at all four entries.
    if (parent == nullptr) continue;
    const int index = SpteIndex(parent_spte);
    if (parent->unsync_children.test(index)) continue;
    parent->unsync_children.set(index);
    MarkParentsUnsync(parent);
  }
}

void ShadowTables::MarkSynced(ShadowPage* page) {
  page->unsync = false;
  unsync_frames_.erase(page->hfn);
  ++counters_.pages_synced;
  if (unsync_gfns_.erase(page->gfn) > 0) WriteProtect(page->gfn);
}

void ShadowTables::WriteProtect(uint64_t gfn) {
  if (bugs_.Has(Bug::kNoWriteProtectOnShadow)) return;
  // A flush still owed to the guest may be of a writable translation of
  // this very frame, zapped from the sptes (so not in the rmap) but still in
  // the host TLB: the guest would write its new table through it unseen.
  // Which gfns the owed flushes map is not kept, so all of them are paid.
  if (!bugs_.Has(Bug::kNoFlushOnProtect)) PayAllOwed();
  for (uint64_t spte_hpa : rmap_.Sptes(gfn)) {
    const uint64_t spte = host_.ReadSpte(spte_hpa);
    if ((spte & host::spte::kWritable) == 0) continue;
    if (!bugs_.Has(Bug::kNoFlushOnProtect)) QueueFlushThrough(spte_hpa);
    host_.WriteSpte(spte_hpa, spte & ~host::spte::kWritable);
  }
}

void ShadowTables::Link(uint64_t spte_hpa, ShadowPage* child) {
  // The host reads only P and the frame of a PAE root entry.
  const uint64_t spte = PageAt(spte_hpa) != nullptr
                            ? LinkSpte(*child)
                            : child->hpa() | host::spte::kPresent;
  host_.WriteSpte(spte_hpa, spte);
  child->parent_sptes.push_back(spte_hpa);
  if (child->unsync || child->unsync_children.any()) {
    if (ShadowPage* parent = PageAt(spte_hpa)) {
      parent->unsync_children.set(SpteIndex(spte_hpa));
      MarkParentsUnsync(parent);
    }
  }
}

bool ShadowTables::SetLeaf(ShadowPage& page, int index, uint64_t gfn,
                           Access access) {
  const uint64_t spte_hpa = page.SpteHpa(index);
  const std::optional<uint64_t> hfn = host_.GfnToHfn(gfn);
  if (!hfn.has_value()) {
    ZapSpte(spte_hpa);
    return false;
  }
  if (IsWriteProtected(gfn)) access &= ~kAccessWrite;
  const uint64_t spte = LeafSpte(*hfn, access);
  const uint64_t old_spte = host_.ReadSpte(spte_hpa);
  if (Present(old_spte)) {
    if (LosesTranslationOrRights(old_spte, spte)) QueueFlushThrough(spte_hpa);
    rmap_.Remove(page.LeafGfn(index), spte_hpa);
  }
  rmap_.Add(gfn, spte_hpa);
  page.SetLeafGfn(index, gfn);
  host_.WriteSpte(spte_hpa, spte);
  return true;
}

void ShadowTables::QueueFlush(uint64_t gva) { Queue().Add(Canonical(gva)); }

void ShadowTables::ZapSpte(uint64_t spte_hpa) {
  const uint64_t spte = host_.ReadSpte(spte_hpa);
  if (!Present(spte)) return;
  QueueFlushThrough(spte_hpa);
  ShadowPage* page = PageAt(spte_hpa);
  if (page != nullptr && page->role.level == 1) {
    rmap_.Remove(page->LeafGfn(SpteIndex(spte_hpa)), spte_hpa);
  } else {
    Unlink(PageAt(FrameOf(spte)), spte_hpa);
  }
  host_.WriteSpte(spte_hpa, 0);
  ++counters_.sptes_zapped;
}

void ShadowTables::ZapPage(ShadowPage* page) {
  QueueFlushTable(page->hfn);
  for (uint64_t parent : page->parent_sptes) {
    host_.WriteSpte(parent, 0);
    ++counters_.sptes_zapped;
  }
  std::array<uint64_t, kSptesPerPage> sptes;
  host_.ReadTable(page->hfn, sptes);
  for (int i = 0; i < kSptesPerPage; ++i) {
    const uint64_t spte = sptes[i];
    if (!Present(spte)) continue;
    if (page->role.level == 1) {
      rmap_.Remove(page->LeafGfn(i), page->SpteHpa(i));
    } else {
      Unlink(PageAt(FrameOf(spte)), page->SpteHpa(i));
    }
  }
  host_.FreeFrame(page->hfn);
  unsync_frames_.erase(page->hfn);
  const uint64_t gfn = page->gfn;
  const bool indirect = !page->role.direct;
  cache_.Remove(page);
  if (indirect && !cache_.IsShadowedTable(gfn)) unsync_gfns_.erase(gfn);
  ++counters_.shadow_pages_zapped;
}

void ShadowTables::ZapAll() {
  FlushAll();
  const std::vector<ShadowPage*> all = cache_.All();
  for (ShadowPage* page : all) {
    // Only the PAE root entries outlive this; the rest are freed anyway.
    for (uint64_t parent : page->parent_sptes) host_.WriteSpte(parent, 0);
    host_.FreeFrame(page->hfn);
  }
  counters_.shadow_pages_zapped += all.size();
  cache_.Clear();
  rmap_.Clear();
  unsync_gfns_.clear();
  unsync_frames_.clear();
}

std::optional<uint64_t> ShadowTables::LeafSpteFor(const host::HostRoot& root,
                                                  uint64_t gva) const {
  int level = root.kind == host::HostRoot::Kind::kPae ? kPaeRootLevel : 4;
  uint64_t table = root.hpa;
  for (;; --level) {
    const uint64_t spte_hpa =
        table + 8 * ((gva >> LevelShift(level)) % kSptesPerPage);
    const uint64_t spte = host_.ReadSpte(spte_hpa);
    if (!Present(spte)) return std::nullopt;
    if (level == 1) return spte_hpa;
    table = FrameOf(spte);
  }
}

int ShadowTables::TableLevel(uint64_t hfn) const {
  const ShadowPage* page = cache_.AtFrame(hfn);
  return page != nullptr ? page->role.level : kPaeRootLevel;
}

bool ShadowTables::LiveBases(uint64_t hfn, Bases* bases) const {
  if (live_root_.hpa >> 12 == hfn) {
    bases->push_back(0);
    return true;
  }
  // Kept roots and orphans have no way up to the live root.
  const ShadowPage* page = cache_.AtFrame(hfn);
  if (page == nullptr) return true;
  for (uint64_t parent : page->parent_sptes) {
    Bases parent_bases;
    if (!LiveBases(parent >> 12, &parent_bases)) return false;
    const uint64_t offset = static_cast<uint64_t>(SpteIndex(parent))
                            << LevelShift(TableLevel(parent >> 12));
    for (uint64_t base : parent_bases) bases->push_back(base + offset);
    if (bases->size() > TlbFlushBatch::kMaxSingleFlushes) return false;
  }
  return true;
}

void ShadowTables::QueueFlushThrough(uint64_t spte_hpa) {
  if (Queue().all()) return;
  Bases bases;
  if (!LiveBases(spte_hpa >> 12, &bases)) {
    Queue().AddAll();
    return;
  }
  const int level = TableLevel(spte_hpa >> 12);
  const uint64_t spte = host_.ReadSpte(spte_hpa);
  const uint64_t offset = static_cast<uint64_t>(SpteIndex(spte_hpa))
                          << LevelShift(level);
  for (uint64_t base : bases) QueueLeaves(spte, level, base + offset);
}

void ShadowTables::QueueFlushTable(uint64_t hfn) {
  if (Queue().all()) return;
  Bases bases;
  if (!LiveBases(hfn, &bases)) {
    Queue().AddAll();
    return;
  }
  for (uint64_t base : bases) QueueTableLeaves(hfn, TableLevel(hfn), base);
}

void ShadowTables::QueueTableLeaves(uint64_t hfn, int level, uint64_t gva) {
  std::array<uint64_t, kSptesPerPage> sptes;
  host_.ReadTable(hfn, sptes);
  // Most sptes of a table are not present: they are skipped before anything
  // else is looked at.
  for (int i = 0; i < kSptesPerPage; ++i) {
    if (!Present(sptes[i])) continue;
    QueueLeaves(sptes[i], level,
                gva + (static_cast<uint64_t>(i) << LevelShift(level)));
    if (Queue().all()) return;
  }
}

void ShadowTables::QueueLeaves(uint64_t spte, int level, uint64_t gva) {
  if (!Present(spte) || Queue().all()) return;
  if (level == 1) {
    Queue().Add(Canonical(gva));
    return;
  }
  QueueTableLeaves(FrameOf(spte) >> 12, level - 1, gva);
}

}  // namespace shadowdiff::impl
