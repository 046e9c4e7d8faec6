#ifndef SHADOWDIFF_MODEL_TRANSLATION_CACHE_H_
#define SHADOWDIFF_MODEL_TRANSLATION_CACHE_H_

#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "model/guest_memory.h"
#include "model/invalidation.h"
#include "model/paging_state.h"
#include "model/walk.h"
#include "model/write_journal.h"

namespace shadowdiff::model {

// A way the processor may translate a gva now (SDM 4.10).
struct PossibleWalk {
  enum class Source {
    // The access walks now; the levels read before now come from the
    // paging-structure caches (SDM 4.10.3.2). The walk may fault.
    kWalkNow,
    // A TLB entry (SDM 4.10.2.2) made from this walk when its leaf was read.
    kTlbEntry,
  };
  Source source = Source::kWalkNow;
  WalkResult walk;
  // Per level of walk.levels, the version each entry was read at.
  absl::InlinedVector<uint64_t, 4> read_at;
  uint32_t pcid = 0;  // the PCID it was made under

  // Whether the entry at `index` of walk.levels is read by the access itself
  // (so the access sets its accessed flag).
  bool ReadNow(size_t index, uint64_t now) const {
    return source == Source::kWalkNow && read_at[index] == now;
  }
};

struct PossibleWalks {
  std::vector<PossibleWalk> walks;
  // False when the search stopped at its bound: the set is then incomplete
  // and nothing may be judged outside it.
  bool complete = true;
};

// What the TLBs and paging-structure caches may hold (SDM 4.10), as a
// history: every value a guest entry held (through the memory's write
// journal), every paging state, every invalidation, each at a version. It
// keeps no cache of its own: a translation is possible when the history has
// one that was valid when made and that no invalidation since has removed.
//
// Two readings the SDM leaves open, taken here (docs/semantics.md):
//  - entries are cached only from entries whose accessed flags are already 1
//    (the processor sets them before caching; the reference does not set
//    them speculatively, so memory never changes behind the case's back);
//  - a write through a TLB entry whose dirty flag is 0 walks again (so that
//    it can set D, SDM 4.8): only a fresh walk serves it.
class TranslationCache {
 public:
  // Journals every later write to `memory`.
  explicit TranslationCache(GuestMemory& memory);
  ~TranslationCache();
  TranslationCache(const TranslationCache&) = delete;
  TranslationCache& operator=(const TranslationCache&) = delete;

  // A new case, its memory already filled in: nothing is cached.
  void Reset(const PagingState& state);

  // The state after a CR3 load or a control change.
  void OnState(const PagingState& state);
  void OnInvalidation(Invalidation invalidation);

  uint64_t version() const { return journal_.version(); }
  // Undoes the memory writes made after `version` (an access whose effects
  // the oracle replaces by those of another possible walk).
  void RollBack(uint64_t version);

  // Every way the processor may translate gva under `state` (the current
  // one) now: walks now, through cached upper entries or not, and TLB
  // entries, its own PCID's and global ones of any PCID. The current walk
  // is among them.
  PossibleWalks For(uint64_t gva, const PagingState& state) const;
  // The same as it was at version `now` (before an access's own updates).
  PossibleWalks For(uint64_t gva, const PagingState& state, uint64_t now) const;

  // The `bytes`-wide little-endian value at gpa as it was at `version`.
  uint64_t ValueAt(uint64_t gpa, int bytes, uint64_t version) const;

  // Every translation of gva that the tables gave under `state`'s PCID at
  // some moment of the case, under any CR3, invalidations or not: what a
  // root kept for that PCID may hold until the MMU makes it current again
  // (and must then bring up to date as the CR3 load requires).
  PossibleWalks EverMade(uint64_t gva, const PagingState& state) const;

 private:
  struct StateAt {
    uint64_t since = 0;
    PagingState state;
  };
  struct Search;

  const PagingState& StateAtVersion(uint64_t version) const;

  GuestMemory& memory_;
  WriteJournal journal_;
  std::vector<StateAt> states_;
  std::vector<Invalidation> invalidations_;
};

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_TRANSLATION_CACHE_H_
