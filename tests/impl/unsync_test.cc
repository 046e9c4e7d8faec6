// The rules of out-of-sync shadow pages (impl/unsync.h), one test each, with
// the zoo bug that breaks the rule beside it: each test fails when its rule
// is left out.
#include "impl/unsync.h"

#include <cstdint>

#include "gtest/gtest.h"
#include "guest_machine.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "impl/bug_switches.h"
#include "impl/role.h"
#include "impl/shadow_mmu.h"
#include "impl/write_emulation.h"

namespace shadowdiff::impl {
namespace {

using host::GuestMode;
using testing::Controls;
using testing::GuestMachine;
using testing::HpaOfGfn;
using testing::kA;
using testing::kD;
using testing::kP;
using testing::kPS;
using testing::kU;
using testing::kW;

constexpr uint64_t kTable = kP | kW | kU | kA;
constexpr uint64_t kPage = kP | kW | kU | kA | kD;

ShadowMmu::Options UnsyncMode(std::optional<Bug> bug = std::nullopt) {
  ShadowMmu::Options options{.defer_flushes = true, .unsync = true};
  if (bug.has_value()) options.bugs.Add(*bug);
  return options;
}

// A 4-level guest: PML4 0x101 -> PDPT 0x102 -> PD 0x103 -> PT 0x104, whose
// PTE[i] maps gva i * 4 KB: PTE[0..2] data frames 0x110..0x112 (each holding
// its gfn), PTE[5] the PT itself (gva 0x5000) and PTE[6] the PD (gva 0x6000),
// so the guest can write its own tables with plain stores.
class UnsyncTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kPtAlias = 0x5000;
  static constexpr uint64_t kPdAlias = 0x6000;

  explicit UnsyncTest(ShadowMmu::Options options = UnsyncMode(),
                      bool pcide = false)
      : m_(WithPcide(pcide), options) {
    for (uint64_t gfn = 0x110; gfn < 0x130; ++gfn) m_.Poke32(gfn << 12, gfn);
    m_.Poke64(0x101000, 0x102000 | kTable);
    m_.Poke64(0x102000, 0x103000 | kTable);
    m_.Poke64(0x103000, 0x104000 | kTable);
    for (uint64_t i = 0; i < 3; ++i) {
      m_.Poke64(0x104000 + 8 * i, (0x110000 + (i << 12)) | kPage);
    }
    m_.Poke64(0x104000 + 8 * 5, 0x104000 | kPage);
    m_.Poke64(0x104000 + 8 * 6, 0x103000 | kPage);
    EXPECT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  }

  static host::GuestControls WithPcide(bool pcide) {
    host::GuestControls controls = Controls(GuestMode::k4Level);
    controls.cr4_pcide = pcide;
    return controls;
  }

  // A store by the guest to PTE[index], through its mapping of the PT.
  host::HostAccessResult StorePte(int index, uint64_t pte) {
    return m_.Write(kPtAlias + 8 * index, pte);
  }
  // The data frame gva reaches now, by the host's own walk of the shadows.
  uint64_t ShadowFrame(uint64_t gva) {
    const host::HostWalkTrace trace = m_.Trace(gva);
    return trace.ok ? trace.hpa : 0;
  }
  const ShadowPage* Pt() {
    Role role = BaseRole(m_.mmu().CurrentState(host::kBootVcpu).controls, {});
    role.level = 1;
    return m_.mmu().pages().Find(0x104, role);
  }
  const MmuCounters& counters() { return m_.mmu().counters(); }

  // PTE[1] and PTE[2] rewritten with no invalidation, then PDE[1] (gva
  // 0x200000) pointed at the same PT: a not-present entry made present,
  // which needs no invalidation. The first access through the new PDE maps
  // its own leaf from the guest walk; PTE[2]'s spte (gva 0x202000) comes
  // with the link.
  void RewriteTwoPtesThenLinkThePtAgain() {
    m_.Read(0x1000);
    m_.Read(0x2000);
    StorePte(1, 0x120000 | kPage);
    StorePte(2, 0x121000 | kPage);
    m_.Write(kPdAlias + 8, 0x104000 | kTable);
    EXPECT_EQ(m_.Read(0x201000).value, 0x120u);
  }

  GuestMachine m_;
};

TEST_F(UnsyncTest, StoreToALastLevelTableUnsyncsItInsteadOfEmulating) {
  ASSERT_EQ(m_.Read(0x1000).value, 0x111u);
  const host::HostAccessResult store = StorePte(1, 0x120000 | kPage);
  EXPECT_EQ(store.kind, host::HostAccessResult::Kind::kOk);
  EXPECT_FALSE(store.emulated);
  EXPECT_EQ(counters().emulated_writes, 0u);
  ASSERT_NE(Pt(), nullptr);
  EXPECT_TRUE(Pt()->unsync);
  // No invalidation yet: the shadow keeps what the guest may still see.
  EXPECT_EQ(ShadowFrame(0x1000), HpaOfGfn(0x111));
  // Further stores run directly too.
  StorePte(2, 0x121000 | kPage);
  EXPECT_EQ(counters().emulated_writes, 0u);
}

TEST_F(UnsyncTest, ParentsLearnThatAChildIsUnsync) {
  m_.Read(0x1000);
  StorePte(1, 0x120000 | kPage);
  Role role = BaseRole(Controls(GuestMode::k4Level), {});
  role.level = 2;
  const ShadowPage* pd = m_.mmu().pages().Find(0x103, role);
  role.level = 4;
  const ShadowPage* pml4 = m_.mmu().pages().Find(0x101, role);
  ASSERT_NE(pd, nullptr);
  ASSERT_NE(pml4, nullptr);
  EXPECT_TRUE(pd->unsync_children.test(0));
  EXPECT_TRUE(pml4->unsync_children.test(0));
}

TEST_F(UnsyncTest, InvlpgSyncsTheSpteOfItsAddressOnly) {
  m_.Read(0x1000);
  m_.Read(0x2000);
  StorePte(1, 0x120000 | kPage);
  StorePte(2, 0x121000 | kPage);
  m_.mmu().Invlpg(host::kBootVcpu, 0x1000);
  EXPECT_EQ(m_.Read(0x1000).value, 0x120u);
  EXPECT_EQ(ShadowFrame(0x2000), HpaOfGfn(0x112))
      << "0x2000 was not invalidated: the page stays unsync";
  EXPECT_TRUE(Pt()->unsync);
}

TEST_F(UnsyncTest, InvlpgOfANotPresentEntryDropsTheSpte) {
  m_.Read(0x1000);
  StorePte(1, 0);
  m_.mmu().Invlpg(host::kBootVcpu, 0x1000);
  EXPECT_EQ(m_.Read(0x1000).kind, host::HostAccessResult::Kind::kPageFault);
}

class InvlpgSkipsSyncTest : public UnsyncTest {
 protected:
  InvlpgSkipsSyncTest() : UnsyncTest(UnsyncMode(Bug::kInvlpgSkipsSync)) {}
};

TEST_F(InvlpgSkipsSyncTest, TheStaleSpteOutlivesTheInvlpg) {
  m_.Read(0x1000);
  StorePte(1, 0x120000 | kPage);
  m_.mmu().Invlpg(host::kBootVcpu, 0x1000);
  EXPECT_EQ(m_.Read(0x1000).value, 0x111u);
}

TEST_F(UnsyncTest, GuestPageFaultSyncsTheFaultingAddress) {
  // A read maps 0x1000 read-only (the write right waits for a write).
  m_.Poke64(0x104008, 0x111000 | kTable);
  m_.Read(0x1000);
  StorePte(1, 0);
  // The write faults on the read-only spte; the guest walk fails: #PF.
  EXPECT_EQ(m_.Write(0x1000, 1).kind, host::HostAccessResult::Kind::kPageFault);
  // The #PF invalidated 0x1000: the stale read-only spte is gone.
  EXPECT_EQ(m_.Read(0x1000).kind, host::HostAccessResult::Kind::kPageFault);
}

TEST_F(UnsyncTest, Cr3LoadSyncsAndWriteProtectsAgain) {
  m_.Read(0x1000);
  m_.Read(0x2000);
  StorePte(1, 0x120000 | kPage);
  StorePte(2, 0);
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  EXPECT_FALSE(Pt()->unsync);
  EXPECT_EQ(ShadowFrame(0x1000), HpaOfGfn(0x120));
  EXPECT_EQ(ShadowFrame(0x2000), 0u);
  // Synced means write-protected: the next store exits, and unsyncs the
  // page again.
  EXPECT_GE(StorePte(1, 0x122000 | kPage).host_faults, 1);
  EXPECT_TRUE(Pt()->unsync);
  EXPECT_EQ(counters().pages_unsynced, 2u);
}

class UnsyncPcidTest : public UnsyncTest {
 protected:
  UnsyncPcidTest() : UnsyncTest(UnsyncMode(), /*pcide=*/true) {}
};

TEST_F(UnsyncPcidTest, NoFlushReloadOfTheSameRootKeepsTheShadows) {
  m_.Read(0x1000);
  StorePte(1, 0x120000 | kPage);
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000 | host::kCr3NoFlush));
  EXPECT_TRUE(Pt()->unsync);
  EXPECT_EQ(ShadowFrame(0x1000), HpaOfGfn(0x111));
  // Another PCID on the same root never cached what PCID 0 may keep.
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101001 | host::kCr3NoFlush));
  EXPECT_FALSE(Pt()->unsync);
  EXPECT_EQ(ShadowFrame(0x1000), HpaOfGfn(0x120));
}

// A second address space: PML4 0x105 shares the PDPT.
class UnsyncTwoRootsTest : public UnsyncTest {
 protected:
  explicit UnsyncTwoRootsTest(ShadowMmu::Options options = UnsyncMode())
      : UnsyncTest(options) {
    m_.Poke64(0x105000, 0x102000 | kTable);
  }

  // Both roots built and cached, PTE[1] rewritten under the first, then a
  // switch to the second, found cached.
  void RewriteThenSwitchToTheCachedRoot() {
    m_.Read(0x1000);
    ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x105000));
    m_.Read(0x1000);
    ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
    StorePte(1, 0x120000 | kPage);
    ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x105000));
    EXPECT_EQ(m_.mmu().counters().root_cache_hits, 2u);
  }
};

TEST_F(UnsyncTwoRootsTest, SwitchToACachedRootSyncsIt) {
  RewriteThenSwitchToTheCachedRoot();
  EXPECT_EQ(m_.Read(0x1000).value, 0x120u);
}

class Cr3CachedRootSkipsSyncTest : public UnsyncTwoRootsTest {
 protected:
  Cr3CachedRootSkipsSyncTest()
      : UnsyncTwoRootsTest(UnsyncMode(Bug::kCr3CachedRootSkipsSync)) {}
};

TEST_F(Cr3CachedRootSkipsSyncTest, TheCachedRootKeepsTheStaleSpte) {
  RewriteThenSwitchToTheCachedRoot();
  EXPECT_EQ(m_.Read(0x1000).value, 0x111u);
}

TEST_F(UnsyncTest, LinkingUnderANewParentSyncsFirst) {
  RewriteTwoPtesThenLinkThePtAgain();
  EXPECT_EQ(m_.Read(0x202000).value, 0x121u);
}

class UnsyncChildLinkedStaleTest : public UnsyncTest {
 protected:
  UnsyncChildLinkedStaleTest()
      : UnsyncTest(UnsyncMode(Bug::kUnsyncChildLinkedStale)) {}
};

TEST_F(UnsyncChildLinkedStaleTest, TheNewLinkShowsTheStaleSpte) {
  RewriteTwoPtesThenLinkThePtAgain();
  EXPECT_EQ(m_.Read(0x202000).value, 0x112u);
}

TEST_F(UnsyncTest, ATableAlsoShadowedAsADirectoryStaysWriteProtected) {
  // PDE[2] (gva 0x400000) makes the PD a PT as well: PD[0], read as a PTE,
  // maps gva 0x400000 to the PT frame.
  m_.Write(kPdAlias + 16, 0x103000 | kTable);
  ASSERT_EQ(m_.Read(0x400000).kind, host::HostAccessResult::Kind::kOk);
  const uint64_t emulated = counters().emulated_writes;
  ASSERT_EQ(m_.Read(0x2000).value, 0x112u);
  m_.Write(kPdAlias, 0);  // a store to the PD (gfn 0x103): PDE[0] cleared
  EXPECT_EQ(counters().emulated_writes, emulated + 1);
  EXPECT_EQ(counters().pages_unsynced, 0u);
  m_.mmu().Invlpg(host::kBootVcpu, 0x2000);
  EXPECT_EQ(m_.Read(0x2000).kind, host::HostAccessResult::Kind::kPageFault);
}

class UnsyncBesideUpperShadowTest : public UnsyncTest {
 protected:
  UnsyncBesideUpperShadowTest()
      : UnsyncTest(UnsyncMode(Bug::kUnsyncBesideUpperShadow)) {}
};

TEST_F(UnsyncBesideUpperShadowTest, WritesToTheDirectoryGoUnseen) {
  m_.Write(kPdAlias + 16, 0x103000 | kTable);
  ASSERT_EQ(m_.Read(0x400000).kind, host::HostAccessResult::Kind::kOk);
  ASSERT_EQ(m_.Read(0x2000).value, 0x112u);
  // PDE[0] cleared by a store that no longer exits: the shadow PD keeps it,
  // even after a CR3 load invalidated everything.
  m_.Write(kPdAlias, 0);
  EXPECT_EQ(counters().pages_unsynced, 1u);
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  EXPECT_EQ(m_.Read(0x2000).value, 0x112u);
}

TEST_F(UnsyncTest, ANewDirectoryShadowOfAnUnsyncGfnZapsItsUnsyncPages) {
  m_.Read(0x1000);
  StorePte(1, 0x120000 | kPage);
  ASSERT_TRUE(Pt()->unsync);
  // PDPTE[1] (gva 1 GB) makes the PT a PD as well; through its entry 5
  // (the PT itself) gva 1 GB + 10 MB reaches PTE[0].
  m_.Emulate(0x102008, 0x104000 | kTable, 8);
  ASSERT_EQ(m_.Read((uint64_t{1} << 30) + 0xA00000).value, 0x110u);
  // The unsync shadow of the PT is gone, with what it kept.
  EXPECT_EQ(m_.Read(0x1000).value, 0x120u);
  const uint64_t emulated = counters().emulated_writes;
  StorePte(2, 0);
  EXPECT_EQ(counters().emulated_writes, emulated + 1)
      << "a table that is also a directory is write-protected";
}

TEST_F(UnsyncTest, SyncFollowsTheGuestEntryToItsNewFrame) {
  m_.Read(0x1000);
  StorePte(1, 0x120000 | kP | kU | kA);  // another frame, read-only
  m_.mmu().Invlpg(host::kBootVcpu, 0x1000);
  const host::HostWalkTrace trace = m_.Trace(0x1000);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.hpa, HpaOfGfn(0x120));
  EXPECT_FALSE(trace.writable);
}

class SyncKeepsOldFrameTest : public UnsyncTest {
 protected:
  SyncKeepsOldFrameTest() : UnsyncTest(UnsyncMode(Bug::kSyncKeepsOldFrame)) {}
};

TEST_F(SyncKeepsOldFrameTest, TheRightsChangeButNotTheFrame) {
  m_.Read(0x1000);
  StorePte(1, 0x120000 | kP | kU | kA);
  m_.mmu().Invlpg(host::kBootVcpu, 0x1000);
  const host::HostWalkTrace trace = m_.Trace(0x1000);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.hpa, HpaOfGfn(0x111));
  EXPECT_FALSE(trace.writable);
}

// The PD stays synced (directories never go out of sync): writes to it are
// emulated, and the emulator's heuristics still unshadow it. (Writes by gpa:
// a store through the guest's own mapping faults through the PD, which
// counts as using it.)
TEST_F(UnsyncTest, ASyncedTableStillFloods) {
  m_.Read(0x1000);
  for (int i = 0; i < WriteEmulator::kFloodingWrites; ++i) {
    m_.Emulate(0x103000 + 8 * (10 + i), 0, 8);
  }
  EXPECT_EQ(counters().unshadows_flooding, 1u);
  EXPECT_EQ(counters().pages_unsynced, 0u);
}

TEST_F(UnsyncTest, AMisalignedWriteToASyncedTableStillUnshadows) {
  m_.Read(0x1000);
  m_.Emulate(0x103000 + 8 * 10 + 4, 0, 8);  // across PD[10] and PD[11]
  EXPECT_EQ(counters().unshadows_misaligned, 1u);
}

TEST(UnsyncModeTest, TheWriteProtectingModesStillEmulate) {
  for (const ShadowMmu::Options& options :
       {ShadowMmu::Options{}, ShadowMmu::Options{.defer_flushes = true}}) {
    GuestMachine m(Controls(GuestMode::k4Level), options);
    m.Poke64(0x101000, 0x102000 | kTable);
    m.Poke64(0x102000, 0x103000 | kTable);
    m.Poke64(0x103000, 0x104000 | kTable);
    m.Poke64(0x104000 + 8 * 5, 0x104000 | kPage);
    ASSERT_TRUE(m.mmu().LoadCr3(host::kBootVcpu, 0x101000));
    EXPECT_TRUE(m.Write(0x5008, 0).emulated);
    EXPECT_EQ(m.mmu().counters().pages_unsynced, 0u);
  }
}

}  // namespace
}  // namespace shadowdiff::impl
