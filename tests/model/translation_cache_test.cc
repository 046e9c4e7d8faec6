// The architectural rules of what a processor may have cached (SDM 4.10),
// one test per rule: each fails if its rule is left out (a stale translation
// the SDM allows goes missing) or made looser (one it forbids shows up).
#include "model/translation_cache.h"

#include <cstdint>
#include <optional>
#include <set>

#include "gtest/gtest.h"
#include "model/control_registers.h"
#include "model/guest_memory.h"
#include "model/invalidation.h"
#include "tests/model/guest_builder.h"

namespace shadowdiff::model {
namespace {

using namespace ::shadowdiff::model::testing;
using Source = PossibleWalk::Source;

// 4-level tables in RAM: PML4 0x100000, PDPT 0x101000, PD 0x102000, PT
// 0x103000, a second PT 0x104000. gva 0 and 0x1000 go through PT[0] and PT[1].
constexpr uint64_t kPml4 = 0x100000, kPdpt = 0x101000, kPd = 0x102000,
                   kPt = 0x103000, kPt2 = 0x104000;
constexpr uint64_t kLink = kP | kW | kU | kA;
constexpr uint64_t kLeaf = kP | kW | kU | kA | kD;
constexpr uint64_t kG = 1ull << 8;

class TranslationCacheTest : public ::testing::Test {
 protected:
  TranslationCacheTest() : memory_(TwoSlots()), cache_(memory_) {
    Put64(memory_, kPml4, kPdpt | kLink);
    Put64(memory_, kPdpt, kPd | kLink);
    Put64(memory_, kPd, kPt | kLink);
    Put64(memory_, kPt, 0x400000 | kLeaf);
    Put64(memory_, kPt + 8, 0x410000 | kLeaf);
    state_.mode = PAGING_4LEVEL;
    state_.cr3 = kPml4;
    cache_.Reset(state_);
  }

  // The frames of the translations of gva that `source` gives now.
  std::set<uint64_t> Frames(uint64_t gva, Source source) const {
    std::set<uint64_t> frames;
    const PossibleWalks possible = cache_.For(gva, state_);
    EXPECT_TRUE(possible.complete);
    for (const PossibleWalk& p : possible.walks) {
      if (p.source == source && p.walk.status == WalkResult::Status::kOk) {
        frames.insert(p.walk.gpa >> 12);
      }
    }
    return frames;
  }
  std::set<uint64_t> Cached(uint64_t gva) const {
    return Frames(gva, Source::kTlbEntry);
  }
  std::set<uint64_t> WalkedNow(uint64_t gva) const {
    return Frames(gva, Source::kWalkNow);
  }

  void LoadCr3(uint64_t source) {
    const PagingState before = state_;
    state_.cr3 = source & ~kCr3NoFlushBit;
    cache_.OnState(state_);
    if (auto inv = Cr3LoadInvalidation(before, source)) {
      cache_.OnInvalidation(*inv);
    }
  }
  void SetPge(bool value) {
    const PagingState before = state_;
    state_.cr4_pge = value;
    cache_.OnState(state_);
    if (auto inv = ControlChangeInvalidation(before, state_)) {
      cache_.OnInvalidation(*inv);
    }
  }

  GuestMemory memory_;
  TranslationCache cache_;
  PagingState state_;
};

TEST_F(TranslationCacheTest, CurrentWalkIsTheOnlyWayAtFirst) {
  EXPECT_EQ(WalkedNow(0), std::set<uint64_t>{0x400});
  EXPECT_EQ(Cached(0), std::set<uint64_t>{0x400});
}

// SDM 4.10.4.2: after an entry changes, until an invalidation covers it, the
// old translation may still be used; every value the entry held counts, and
// no other.
TEST_F(TranslationCacheTest, EveryOldTranslationStaysUntilInvlpg) {
  Put64(memory_, kPt, 0x401000 | kLeaf);
  Put64(memory_, kPt, 0x402000 | kLeaf);
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x401, 0x402}));
  EXPECT_EQ(WalkedNow(0), std::set<uint64_t>{0x402});
  cache_.OnInvalidation(InvlpgInvalidation(state_, 0));
  EXPECT_EQ(Cached(0), std::set<uint64_t>{0x402});
}

// Every combination of cached upper entries counts, however alike their
// values: here the PML4E and the PDPTE each held a value with XD and one
// without, and the one way to an executable TLB entry is the two without
// (the PDPTE's last value has A=0, so the walk of the moment is no TLB
// entry). A search that took two paths differing in XD at two levels for
// the same one lost it (found by fuzzing shadow-deferred).
TEST_F(TranslationCacheTest, PathsDifferingOnlyInXdAtTwoLevelsAreTwoPaths) {
  Put64(memory_, kPml4, kPdpt | kLink | kNx);
  Put64(memory_, kPdpt, kPd | kLink | kNx);
  state_.efer_nxe = true;
  cache_.Reset(state_);
  Put64(memory_, kPml4, kPdpt | kLink);
  Put64(memory_, kPdpt, kPd | kLink);
  Put64(memory_, kPdpt, kPd | kP | kW | kU);
  const PossibleWalks possible = cache_.For(0, state_);
  ASSERT_TRUE(possible.complete);
  bool executable_entry = false;
  for (const PossibleWalk& p : possible.walks) {
    if (p.source != Source::kTlbEntry) continue;
    bool xd = false;
    for (const WalkLevel& level : p.walk.levels) xd = xd || (level.value & kNx);
    executable_entry = executable_entry || !xd;
  }
  EXPECT_TRUE(executable_entry);
}

TEST_F(TranslationCacheTest, InvlpgLeavesOtherPagesCached) {
  Put64(memory_, kPt, 0x401000 | kLeaf);
  Put64(memory_, kPt + 8, 0x411000 | kLeaf);
  cache_.OnInvalidation(InvlpgInvalidation(state_, 0));
  EXPECT_EQ(Cached(0x1000), (std::set<uint64_t>{0x410, 0x411}));
}

// SDM 4.8, 4.10.2.1: an entry is cached with its accessed flag set; the
// reference sets none behind the case's back, so an entry read with A=0 was
// never cached.
TEST_F(TranslationCacheTest, EntryWithAccessedClearWasNeverCached) {
  Put64(memory_, kPt, 0x401000 | (kLeaf & ~kA));
  Put64(memory_, kPt, 0x402000 | kLeaf);
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x402}));
}

// SDM 4.10.2.1: no TLB entry is made from a not-present entry, so the fault
// it gave is not kept either: a walk that faults is always a walk now.
TEST_F(TranslationCacheTest, NotPresentIsNeverCached) {
  Put64(memory_, kPt, 0);
  Put64(memory_, kPt, 0x403000 | kLeaf);
  const PossibleWalks possible = cache_.For(0, state_);
  for (const PossibleWalk& p : possible.walks) {
    EXPECT_EQ(p.walk.status, WalkResult::Status::kOk);
  }
}

// SDM 4.10.3: an upper entry cached earlier, a lower one read later.
TEST_F(TranslationCacheTest, CachedUpperEntryLeadsToTheOldTable) {
  Put64(memory_, kPt2, 0x500000 | kLeaf);
  Put64(memory_, kPd, kPt2 | kLink);
  Put64(memory_, kPt, 0x404000 | kLeaf);  // the old table, after the switch
  EXPECT_EQ(WalkedNow(0), (std::set<uint64_t>{0x404, 0x500}));
}

// SDM 4.10.4.1: INVLPG clears every paging-structure cache of the PCID,
// whatever its address.
TEST_F(TranslationCacheTest, InvlpgOfAnotherPageClearsCachedUpperEntries) {
  Put64(memory_, kPt2, 0x500000 | kLeaf);
  Put64(memory_, kPd, kPt2 | kLink);
  cache_.OnInvalidation(InvlpgInvalidation(state_, 0x7000000));
  Put64(memory_, kPt, 0x404000 | kLeaf);
  EXPECT_EQ(WalkedNow(0), std::set<uint64_t>{0x500});
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x500}));
}

// SDM 4.10.4.1: a page fault invalidates the faulting page, so that a fault
// a stale entry caused does not recur.
TEST_F(TranslationCacheTest, PageFaultDropsTheStaleTranslation) {
  Put64(memory_, kPt, 0x401000 | kLeaf);
  cache_.OnInvalidation(PageFaultInvalidation(state_, 0x10));
  EXPECT_EQ(Cached(0), std::set<uint64_t>{0x401});
  EXPECT_EQ(Cached(0x1000), std::set<uint64_t>{0x410});
}

// A fault in one PCID does not take a global translation another PCID made
// (SDM 4.10.4.1 names the current PCID's entries only).
TEST_F(TranslationCacheTest, PageFaultKeepsAnotherPcidsGlobalTranslation) {
  state_.cr4_pcide = true;
  SetPge(true);
  LoadCr3(kPml4 | 1);
  Put64(memory_, kPt, 0x400000 | kLeaf | kG);
  Put64(memory_, kPt, 0x401000 | kLeaf);
  LoadCr3(kPml4 | 2);
  cache_.OnInvalidation(PageFaultInvalidation(state_, 0));
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x401}));
  LoadCr3(kPml4 | 1);
  cache_.OnInvalidation(PageFaultInvalidation(state_, 0));
  EXPECT_EQ(Cached(0), std::set<uint64_t>{0x401});
}

// SDM 4.10.2.3: INVLPG anywhere in a large page invalidates all of it.
TEST_F(TranslationCacheTest, InvlpgInsideALargePageDropsAllOfIt) {
  Put64(memory_, kPd + 8, 0x600000 | kLeaf | kPs);  // gva 0x200000, 2 MB
  Put64(memory_, kPd + 8, 0x800000 | kLeaf | kPs);
  EXPECT_EQ(Cached(0x205000), (std::set<uint64_t>{0x605, 0x805}));
  cache_.OnInvalidation(InvlpgInvalidation(state_, 0x3FF000));
  EXPECT_EQ(Cached(0x205000), std::set<uint64_t>{0x805});
}

// SDM 4.10.4.1: MOV to CR3 (CR4.PCIDE=0) keeps global translations only
// (SDM 4.10.2.4).
TEST_F(TranslationCacheTest, Cr3LoadKeepsOnlyGlobalTranslations) {
  SetPge(true);
  Put64(memory_, kPt, 0x400000 | kLeaf | kG);
  Put64(memory_, kPt, 0x401000 | kLeaf);
  Put64(memory_, kPt + 8, 0x411000 | kLeaf);
  LoadCr3(kPml4);
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x401}));
  EXPECT_EQ(Cached(0x1000), std::set<uint64_t>{0x411});
}

// SDM 4.10.4.1: changing CR4.PGE invalidates global translations too.
TEST_F(TranslationCacheTest, PgeChangeDropsGlobalTranslations) {
  SetPge(true);
  Put64(memory_, kPt, 0x400000 | kLeaf | kG);
  Put64(memory_, kPt, 0x401000 | kLeaf);
  SetPge(false);
  EXPECT_EQ(Cached(0), std::set<uint64_t>{0x401});
}

// A PCID's translations serve that PCID only (SDM 4.10.1); the no-flush bit
// keeps them (SDM 4.10.4.1).
TEST_F(TranslationCacheTest, TranslationsAreTaggedWithTheirPcid) {
  state_.cr4_pcide = true;
  LoadCr3(kPml4 | 1);
  Put64(memory_, kPt, 0x401000 | kLeaf);
  LoadCr3(kPml4 | 2);
  EXPECT_EQ(Cached(0), std::set<uint64_t>{0x401});
  LoadCr3(kPml4 | 1 | kCr3NoFlushBit);
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x401}));
  LoadCr3(kPml4 | 1);
  EXPECT_EQ(Cached(0), std::set<uint64_t>{0x401});
}

// SDM 4.10.2.4: a global translation serves every PCID.
TEST_F(TranslationCacheTest, GlobalTranslationServesOtherPcids) {
  state_.cr4_pcide = true;
  SetPge(true);
  LoadCr3(kPml4 | 1);
  Put64(memory_, kPt, 0x400000 | kLeaf | kG);
  Put64(memory_, kPt, 0x401000 | kLeaf);
  LoadCr3(kPml4 | 2);
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x401}));
}

// SDM 4.10.4.1, INVPCID: type 0 one page of one PCID but global ones, 1 one
// PCID but global ones, 2 everything, 3 everything but global ones.
TEST_F(TranslationCacheTest, InvpcidTypes) {
  state_.cr4_pcide = true;
  SetPge(true);
  LoadCr3(kPml4 | 1);
  Put64(memory_, kPt, 0x400000 | kLeaf | kG);
  Put64(memory_, kPt, 0x401000 | kLeaf);
  Put64(memory_, kPt + 8, 0x411000 | kLeaf);
  cache_.OnInvalidation(InvpcidInvalidation(0, 1, 0));
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x401}));
  EXPECT_EQ(Cached(0x1000), (std::set<uint64_t>{0x410, 0x411}));
  cache_.OnInvalidation(InvpcidInvalidation(1, 2, 0));
  EXPECT_EQ(Cached(0x1000), (std::set<uint64_t>{0x410, 0x411}));
  cache_.OnInvalidation(InvpcidInvalidation(3, 0, 0));
  EXPECT_EQ(Cached(0x1000), std::set<uint64_t>{0x411});
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x401}));
  cache_.OnInvalidation(InvpcidInvalidation(2, 0, 0));
  EXPECT_EQ(Cached(0), std::set<uint64_t>{0x401});
}

TEST_F(TranslationCacheTest, InvpcidOfOneContextLeavesTheOthers) {
  state_.cr4_pcide = true;
  LoadCr3(kPml4 | 1);
  Put64(memory_, kPt, 0x401000 | kLeaf);
  cache_.OnInvalidation(InvpcidInvalidation(1, 3, 0));
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x401}));
  cache_.OnInvalidation(InvpcidInvalidation(1, 1, 0));
  EXPECT_EQ(Cached(0), std::set<uint64_t>{0x401});
}

// CR0.WP decides rights at the access, no walk: many changes of it neither
// cut the history short (the search stays complete) nor drop what is cached
// (SDM 4.10.4.1 lists no invalidation for it).
TEST_F(TranslationCacheTest, ManyWpChangesKeepTheSearchComplete) {
  Put64(memory_, kPt, 0x401000 | kLeaf);
  for (int i = 0; i < 200; ++i) {
    state_.cr0_wp = !state_.cr0_wp;
    cache_.OnState(state_);
  }
  EXPECT_EQ(Cached(0), (std::set<uint64_t>{0x400, 0x401}));
}

// What a root kept for a CR3 may hold: any translation made under the PCID,
// invalidated since or not.
TEST_F(TranslationCacheTest, EverMadeIgnoresInvalidations) {
  Put64(memory_, kPt, 0x401000 | kLeaf);
  cache_.OnInvalidation(InvlpgInvalidation(state_, 0));
  std::set<uint64_t> frames;
  for (const PossibleWalk& p : cache_.EverMade(0, state_).walks) {
    frames.insert(p.walk.gpa >> 12);
  }
  EXPECT_EQ(frames, (std::set<uint64_t>{0x400, 0x401}));
}

TEST(InvalidationTest, ControlChangesThatInvalidate) {
  PagingState before;
  before.mode = PAGING_4LEVEL;
  PagingState after = before;
  after.cr0_wp = true;
  after.efer_nxe = true;
  after.cr4_pse = true;
  EXPECT_FALSE(ControlChangeInvalidation(before, after).has_value());
  after.cr4_pcide = true;
  EXPECT_FALSE(ControlChangeInvalidation(before, after).has_value());
  EXPECT_EQ(ControlChangeInvalidation(after, before)->kind,
            Invalidation::Kind::kAll);
  after = before;
  after.cr4_pge = true;
  EXPECT_EQ(ControlChangeInvalidation(before, after)->kind,
            Invalidation::Kind::kAll);
}

TEST(ControlRegistersTest, PcidRules) {
  PagingState state;
  state.mode = PAGING_4LEVEL;
  state.cr3 = 0x1000;
  EXPECT_TRUE(Cr3SourceFaults(state, 0x1000 | kCr3NoFlushBit));
  EXPECT_TRUE(InvpcidFaults(state, 0, 1));
  EXPECT_TRUE(InvpcidFaults(state, 1, 1));
  EXPECT_FALSE(InvpcidFaults(state, 2, 1));
  EXPECT_FALSE(InvpcidFaults(state, 0, 0));
  PagingState pcide = state;
  pcide.cr4_pcide = true;
  EXPECT_FALSE(ControlChangeFaults(state, pcide));
  state.cr3 = 0x1001;
  pcide.cr3 = 0x1001;
  EXPECT_TRUE(ControlChangeFaults(state, pcide));
  EXPECT_FALSE(Cr3SourceFaults(pcide, 0x1001 | kCr3NoFlushBit));
  EXPECT_TRUE(Cr3LoadKeepsCaches(pcide, 0x1001 | kCr3NoFlushBit));
  EXPECT_EQ(CurrentPcid(pcide), 1u);
  PagingState pae = state;
  pae.mode = PAGING_PAE;
  pae.cr3 = 0x1000;
  PagingState pae_pcide = pae;
  pae_pcide.cr4_pcide = true;
  EXPECT_TRUE(ControlChangeFaults(pae, pae_pcide));
}

TEST(WriteJournalTest, HistoryAndRollBack) {
  GuestMemory memory(TwoSlots());
  WriteJournal journal;
  memory.set_journal(&journal);
  Put64(memory, 0x100008, 0x1111);
  Put32(memory, 0x10000C, 0x2222);  // the entry's high half
  Put64(memory, 0x100010, 0x3333);  // another entry
  const auto history = journal.History(0x100008, 8, Get64(memory, 0x100008), 0);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].value, 0u);
  EXPECT_EQ(history[1].value, 0x1111u);
  EXPECT_EQ(history[2].value, 0x0000222200001111u);
  EXPECT_EQ(journal.NextWrite(0x100008, 8, history[1].since), history[2].since);
  memory.set_journal(nullptr);
  journal.RollBack(history[1].since, memory);
  EXPECT_EQ(Get64(memory, 0x100008), 0x1111u);
  EXPECT_EQ(Get64(memory, 0x100010), 0u);
}

}  // namespace
}  // namespace shadowdiff::model
