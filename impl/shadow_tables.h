#ifndef SHADOWDIFF_IMPL_SHADOW_TABLES_H_
#define SHADOWDIFF_IMPL_SHADOW_TABLES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "host/guest_mmu.h"
#include "host/host_services.h"
#include "impl/bug_switches.h"
#include "impl/counters.h"
#include "impl/page_cache.h"
#include "impl/rmap.h"
#include "impl/role.h"
#include "impl/shadow_page.h"
#include "impl/tlb_flush.h"

namespace shadowdiff::impl {

// The leaf spte that maps host frame hfn with `access`: impl's one encoding
// of guest rights in a host entry.
uint64_t LeafSpte(uint64_t hfn, Access access);

// The shadow page tables in host memory and the invariants that bind them to
// the guest's tables (KVM's mmu.c):
//  - every shadow page is in the cache under (gfn, role), and its parents are
//    known, so it can be found in O(1) and unlinked;
//  - no leaf spte maps a guest table frame writable (write protection through
//    the reverse map, made when the frame becomes a table);
//  - whatever removes a translation or a right queues the host TLB flushes it
//    makes necessary: one per gva reachable from the live root while they are
//    few, else a full flush. Translations outside the live root cannot be in
//    the TLB, which is flushed whenever the root changes.
//
// Shadow tables are always in the host's 64-bit format. Non-leaf sptes grant
// every right; the guest's rights are all folded into the leaves, so one
// shadow table can serve every path that reaches it with the same role.
class ShadowTables {
 public:
  ShadowTables(host::HostServices& host, const BugSet& bugs,
               MmuCounters& counters)
      : host_(host), bugs_(bugs), counters_(counters) {}

  host::HostServices& host() { return host_; }
  const PageCache& pages() const { return cache_; }
  const Rmap& rmap() const { return rmap_; }

  // The shadow page for (gfn, role), built if missing. Building the first
  // indirect page of a gfn write-protects that guest frame. Fails only when
  // the host has no frame left.
  absl::StatusOr<ShadowPage*> GetPage(uint64_t gfn, const Role& role);
  ShadowPage* Find(uint64_t gfn, const Role& role) const {
    return cache_.Find(gfn, role);
  }
  // The shadow page whose table holds hpa; nullptr for the PAE root.
  ShadowPage* PageAt(uint64_t hpa) const { return cache_.AtFrame(hpa >> 12); }

  // Whether gfn holds a shadowed guest table that the guest may not write
  // directly: mapped read-only, stores to it are emulated. Every shadowed
  // table is, but one whose shadows all went out of sync.
  bool IsWriteProtected(uint64_t gfn) const {
    return cache_.IsShadowedTable(gfn) && !unsync_gfns_.contains(gfn);
  }

  // Out-of-sync pages (policy in impl/unsync.h; the bookkeeping is here,
  // with the links it follows):
  //  - MarkUnsync flags a page and sets the unsync_children bit of every
  //    spte above it, up to the roots;
  //  - AllowWrites lifts the write protection of a gfn whose shadows are all
  //    unsync: leaves built from then on map it writable;
  //  - MarkSynced clears the flag and write-protects the gfn again;
  //  - building a new indirect page of an unsync gfn write-protects it, and
  //    an upper-level one first zaps the gfn's unsync pages: a table that is
  //    also a directory must see every write (KVM's kvm_mmu_get_page synced
  //    them until ddc16abbbae9, 2021, made it zap them likewise).
  void MarkUnsync(ShadowPage* page);
  void AllowWrites(uint64_t gfn) { unsync_gfns_.insert(gfn); }
  void MarkSynced(ShadowPage* page);
  // The host frames of the unsync pages, in no order.
  std::vector<uint64_t> UnsyncFrames() const {
    return {unsync_frames_.begin(), unsync_frames_.end()};
  }

  // Points the empty non-leaf spte at spte_hpa (in a shadow page or the PAE
  // root) at child.
  void Link(uint64_t spte_hpa, ShadowPage* child);

  // Makes leaf `index` of a level-1 page map gfn with `access`, less the
  // write right if gfn is write-protected. A gfn outside RAM (MMIO) is never
  // mapped: the spte is zapped and false returned.
  bool SetLeaf(ShadowPage& page, int index, uint64_t gfn, Access access);

  // Queues a flush of the host page holding gva, as the guest's own
  // invalidation asks even where no spte changed.
  void QueueFlush(uint64_t gva);

  // Clears one spte (leaf or link) and queues the flushes it needs.
  void ZapSpte(uint64_t spte_hpa);
  // Unlinks a page from its parents and frees it. Its children stay cached.
  void ZapPage(ShadowPage* page);
  void ZapAll();

  // The present level-1 spte the host walk of gva from root ends at.
  std::optional<uint64_t> LeafSpteFor(const host::HostRoot& root,
                                      uint64_t gva) const;

  // The root the host walks from now on. Its translations are the only ones
  // the host TLB may hold (the caller flushes everything when it switches).
  void SetLiveRoot(const host::HostRoot& root) { live_root_ = root; }
  // Everything goes, owed flushes too.
  void FlushAll() {
    flushes_.AddAll();
    owed_.Clear();
  }
  // Issues the queued flushes; called before the guest runs again.
  void CommitFlushes() { flushes_.Commit(host_, counters_); }

  // The deferred-flush mode of a shadow MMU that relies on the guest's
  // invalidations, as real ones do (SDM 4.10.4.2): the flushes a change of
  // the guest's own entries makes necessary are owed to the guest's next
  // invalidation that covers them, not issued. Flushes for the MMU's own
  // reasons (write protection, unshadowing, a root switch) are issued as
  // ever.
  void set_defer_guest_flushes(bool defer) { defer_guest_flushes_ = defer; }
  // Between the two, sptes change because guest entries did.
  void BeginGuestChange() { deferring_ = defer_guest_flushes_; }
  void EndGuestChange() { deferring_ = false; }
  // The guest invalidated the host pages in [base, base + size), or all:
  // what is owed there is issued with the next CommitFlushes.
  void PayOwed(uint64_t base, uint64_t size) {
    owed_.MoveInto(flushes_, base, size);
  }
  void PayAllOwed() { owed_.MoveAllInto(flushes_); }

 private:
  void WriteProtect(uint64_t gfn);
  // Sets the unsync_children bits on the way from page up to the roots.
  void MarkParentsUnsync(const ShadowPage* page);

  // The level of the entries of the table in frame hfn (3 for the PAE root).
  int TableLevel(uint64_t hfn) const;
  // Appends the gvas at which the table in frame hfn is reached from the live
  // root. False when there are too many to flush one by one.
  using Bases =
      absl::InlinedVector<uint64_t, TlbFlushBatch::kMaxSingleFlushes + 1>;
  bool LiveBases(uint64_t hfn, Bases* bases) const;
  // Queues a flush of every translation through the spte at spte_hpa, or
  // through the whole table in frame hfn.
  void QueueFlushThrough(uint64_t spte_hpa);
  void QueueFlushTable(uint64_t hfn);
  // Queues the gvas of the present leaves under `spte`, an entry at `level`
  // covering the gvas from `gva`, or under the table at `level` in frame hfn.
  void QueueLeaves(uint64_t spte, int level, uint64_t gva);
  void QueueTableLeaves(uint64_t hfn, int level, uint64_t gva);

  host::HostServices& host_;
  BugSet bugs_;
  MmuCounters& counters_;
  PageCache cache_;
  Rmap rmap_;
  // Shadowed tables the guest writes without an exit.
  absl::flat_hash_set<uint64_t> unsync_gfns_;
  absl::flat_hash_set<uint64_t> unsync_frames_;
  // Where a flush goes now: owed while deferring.
  TlbFlushBatch& Queue() { return deferring_ ? owed_ : flushes_; }

  TlbFlushBatch flushes_;
  TlbFlushBatch owed_;
  bool defer_guest_flushes_ = false;
  bool deferring_ = false;
  host::HostRoot live_root_;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_SHADOW_TABLES_H_
