#include "impl/shadow_mmu.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "guest_machine.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_cpu.h"
#include "host/host_services.h"
#include "impl/bug_switches.h"
#include "impl/role.h"

namespace shadowdiff::impl {
namespace {

using host::GuestMode;
using host::HostAccessResult;
using testing::Controls;
using testing::GuestMachine;
using testing::HpaOfGfn;
using testing::kA;
using testing::kD;
using testing::kNx;
using testing::kP;
using testing::kPS;
using testing::kU;
using testing::kW;

std::vector<host::HostMapping> TlbMappings(const host::HostCpu& cpu) {
  std::vector<host::HostMapping> mappings;
  cpu.TlbMappings(&mappings);
  return mappings;
}

constexpr uint64_t kPwu = kP | kW | kU;

ShadowMmu::Options WithBug(Bug bug) {
  ShadowMmu::Options options;
  options.bugs.Add(bug);
  return options;
}

// Frames 0x110.. hold their own gfn, so a load shows which frame it reached.
void FillDataFrames(GuestMachine& m) {
  for (uint64_t gfn = 0x110; gfn < 0x150; ++gfn) m.Poke32(gfn << 12, gfn);
}

// ---------------------------------------------------------------------------
// 32-bit guests: quadrants.

// PD 0x101; PDE[1] (gva 0x400000) -> PT 0x102; PTE[0] -> 0x110 and
// PTE[512] (gva 0x600000) -> 0x111.
class Shadow32Test : public ::testing::Test {
 protected:
  explicit Shadow32Test(ShadowMmu::Options options = {})
      : controls_(Controls(GuestMode::k32Bit)), m_(controls_, options) {
    FillDataFrames(m_);
    m_.Poke32(0x101004, 0x102000 | kPwu);
    m_.Poke32(0x102000, 0x110000 | kPwu);
    m_.Poke32(0x102800, 0x111000 | kPwu);
    EXPECT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  }

  const ShadowPage* Page(uint64_t gfn, const Role& role) {
    return m_.mmu().pages().Find(gfn, role);
  }
  Role Base() { return BaseRole(controls_, {}); }

  host::GuestControls controls_;
  GuestMachine m_;
};

TEST_F(Shadow32Test, GuestPdIsFourQuadrantPagesUnderThePaeRoot) {
  EXPECT_EQ(m_.mmu().pages().size(), 4u);
  EXPECT_EQ(m_.mmu().CurrentRoot(host::kBootVcpu).kind,
            host::HostRoot::Kind::kPae);
  for (int q = 0; q < 4; ++q) {
    const ShadowPage* pd =
        Page(0x101, IndirectRole(Base(), 2, uint64_t(q) << 30, kAccessAll));
    ASSERT_NE(pd, nullptr);
    EXPECT_EQ(pd->role.quadrant, q);
  }
}

TEST_F(Shadow32Test, EachHalfOfAGuestPtIsItsOwnPage) {
  HostAccessResult r = m_.Read(0x400000);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(r.value, 0x110u);
  EXPECT_EQ(r.host_faults, 1);
  EXPECT_EQ(m_.mmu().pages().size(), 5u);
  const ShadowPage* low =
      Page(0x102, IndirectRole(Base(), 1, 0x400000, kAccessAll));
  ASSERT_NE(low, nullptr);
  EXPECT_EQ(low->role.quadrant, 0);

  r = m_.Read(0x600000);
  EXPECT_EQ(r.value, 0x111u);
  EXPECT_EQ(r.host_faults, 1);
  EXPECT_EQ(m_.mmu().pages().size(), 6u);
  const ShadowPage* high =
      Page(0x102, IndirectRole(Base(), 1, 0x600000, kAccessAll));
  ASSERT_NE(high, nullptr);
  EXPECT_EQ(high->role.quadrant, 1);
  EXPECT_EQ(m_.mmu().counters().shadow_pages_created, 6u);
}

TEST_F(Shadow32Test, LeafIsWritableOnlyOnceTheGuestLeafIsDirty) {
  m_.Read(0x400000);
  host::HostWalkTrace trace = m_.Trace(0x400000);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.hpa, HpaOfGfn(0x110));
  EXPECT_TRUE(trace.user);
  EXPECT_FALSE(trace.writable);
  EXPECT_EQ(m_.Peek(0x102000, 4), 0x110000 | kPwu | kA);

  const HostAccessResult r = m_.Write(0x400000, 5);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(r.host_faults, 1);
  EXPECT_TRUE(m_.Trace(0x400000).writable);
  EXPECT_EQ(m_.Peek(0x102000, 4), 0x110000 | kPwu | kA | kD);
  EXPECT_EQ(m_.mmu().rmap().Sptes(0x110).size(), 1u);
  EXPECT_EQ(m_.mmu().counters().host_faults, 2u);
}

TEST_F(Shadow32Test, PteWriteUpdatesOnlyItsQuadrant) {
  // PTE[5] (gva 0x405000) and PTE[517] (gva 0x605000) both shadowed, in
  // the two halves; then PTE[5] is rewritten.
  m_.Poke32(0x102014, 0x112000 | kPwu);
  m_.Poke32(0x102814, 0x113000 | kPwu);
  EXPECT_EQ(m_.Read(0x405000).value, 0x112u);
  EXPECT_EQ(m_.Read(0x605000).value, 0x113u);
  m_.Emulate(0x102014, 0x114000 | kPwu | kA, 4);
  EXPECT_EQ(m_.mmu().counters().sptes_updated_in_place, 1u);
  EXPECT_EQ(m_.Trace(0x405000).hpa, HpaOfGfn(0x114));
  EXPECT_EQ(m_.Trace(0x605000).hpa, HpaOfGfn(0x113));
  const HostAccessResult r = m_.Read(0x405000);
  EXPECT_EQ(r.value, 0x114u);
  EXPECT_EQ(r.host_faults, 0);
}

class QuadrantIgnoredTest : public Shadow32Test {
 protected:
  QuadrantIgnoredTest() : Shadow32Test(WithBug(Bug::kQuadrantIgnored)) {}
};

TEST_F(QuadrantIgnoredTest, PteWriteLandsInBothHalves) {
  m_.Poke32(0x102014, 0x112000 | kPwu);
  m_.Poke32(0x102814, 0x113000 | kPwu);
  m_.Read(0x405000);
  m_.Read(0x605000);
  m_.Emulate(0x102014, 0x114000 | kPwu | kA, 4);
  EXPECT_EQ(m_.Trace(0x605000).hpa, HpaOfGfn(0x114));
}

// PDE[300] (gva 0x4b000000) -> PT 0x102 is rewritten to point at PT 0x103.
class PdeWriteTest : public ::testing::Test {
 protected:
  explicit PdeWriteTest(ShadowMmu::Options options = {})
      : m_(Controls(GuestMode::k32Bit), options) {
    FillDataFrames(m_);
    m_.Poke32(0x101000 + 4 * 300, 0x102000 | kPwu);
    m_.Poke32(0x102000, 0x110000 | kPwu);
    m_.Poke32(0x102800, 0x111000 | kPwu);
    m_.Poke32(0x103000, 0x112000 | kPwu);
    m_.Poke32(0x103800, 0x113000 | kPwu);
    EXPECT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
    EXPECT_EQ(m_.Read(0x4B000000).value, 0x110u);
    EXPECT_EQ(m_.Read(0x4B200000).value, 0x111u);
    m_.Emulate(0x101000 + 4 * 300, 0x103000 | kPwu, 4);
  }

  GuestMachine m_;
};

TEST_F(PdeWriteTest, ZapsBothShadowPdes) {
  // Shadow PDEs 88 and 89 of the quadrant-1 PD, each with one leaf below.
  EXPECT_EQ(m_.mmu().counters().sptes_zapped, 2u);
  EXPECT_EQ(m_.cpu().tlb_flushes_single(), 2u);
  EXPECT_EQ(m_.cpu().tlb_flushes_all(), 0u);
  EXPECT_EQ(m_.Read(0x4B000000).value, 0x112u);
  EXPECT_EQ(m_.Read(0x4B200000).value, 0x113u);
}

class NonpaePdeSingleZapTest : public PdeWriteTest {
 protected:
  NonpaePdeSingleZapTest() : PdeWriteTest(WithBug(Bug::kNonpaePdeSingleZap)) {}
};

TEST_F(NonpaePdeSingleZapTest, LeavesTheOldPtMapped) {
  EXPECT_EQ(m_.mmu().counters().sptes_zapped, 0u);
  EXPECT_EQ(m_.Read(0x4B000000).value, 0x110u);
}

// PDE[1] -> PT 0x102 is supervisor-only (no U); its PTE[0] grants U.
class ParentRightsTest : public ::testing::Test {
 protected:
  explicit ParentRightsTest(ShadowMmu::Options options = {})
      : m_(Controls(GuestMode::k32Bit), options) {
    FillDataFrames(m_);
    m_.Poke32(0x101004, 0x102000 | kP | kW);
    m_.Poke32(0x102000, 0x110000 | kPwu);
    EXPECT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
    EXPECT_EQ(m_.Read(0x400000).value, 0x110u);
    m_.Emulate(0x102000, 0x112000 | kPwu | kA | kD, 4);
  }

  GuestMachine m_;
};

TEST_F(ParentRightsTest, UpdateInPlaceKeepsTheParentsRights) {
  const host::HostWalkTrace trace = m_.Trace(0x400000);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.hpa, HpaOfGfn(0x112));
  EXPECT_TRUE(trace.writable);
  EXPECT_FALSE(trace.user);
  const HostAccessResult r = m_.Read(0x400000, /*user=*/true);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kPageFault);
  EXPECT_EQ(r.error_code, host::kPfPresent | host::kPfUser);
}

class UpdateIgnoresParentRightsTest : public ParentRightsTest {
 protected:
  UpdateIgnoresParentRightsTest()
      : ParentRightsTest(WithBug(Bug::kUpdateIgnoresParentRights)) {}
};

TEST_F(UpdateIgnoresParentRightsTest, GivesUserAccess) {
  EXPECT_TRUE(m_.Trace(0x400000).user);
  EXPECT_EQ(m_.Read(0x400000, /*user=*/true).kind, HostAccessResult::Kind::kOk);
}

// ---------------------------------------------------------------------------
// Write protection through the reverse map.

// PDE[0] -> PT 0x102, PTE[5] (gva 0x5000) -> frame 0x120, dirty and
// writable. The guest writes a PTE value into 0x120 through gva 0x5000,
// then makes 0x120 its PT for gva 0x400000 (PDE[1]).
class WriteProtectTest : public ::testing::Test {
 protected:
  explicit WriteProtectTest(ShadowMmu::Options options = {})
      : m_(Controls(GuestMode::k32Bit), options) {
    FillDataFrames(m_);
    m_.Poke32(0x101000, 0x102000 | kPwu);
    m_.Poke32(0x102014, 0x120000 | kPwu | kA | kD);
    EXPECT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
    const HostAccessResult r = m_.Write(0x5000, 0x130000 | kPwu | kA | kD);
    EXPECT_EQ(r.kind, HostAccessResult::Kind::kOk);
    EXPECT_EQ(r.host_faults, 1);
    EXPECT_TRUE(m_.Trace(0x5000).writable);
    EXPECT_EQ(m_.mmu().rmap().Sptes(0x120).size(), 1u);
    m_.Emulate(0x101004, 0x120000 | kPwu, 4);
    EXPECT_EQ(m_.Read(0x400000).value, 0x130u);
  }

  bool TlbHasWritable(uint64_t gva) {
    for (const host::HostMapping& mapping : TlbMappings(m_.cpu())) {
      if (mapping.gva == gva && mapping.writable) return true;
    }
    return false;
  }

  GuestMachine m_;
};

TEST_F(WriteProtectTest, NewTableFrameLosesItsWritableMappings) {
  EXPECT_FALSE(m_.Trace(0x5000).writable);
  EXPECT_FALSE(TlbHasWritable(0x5000));
  EXPECT_EQ(m_.cpu().tlb_flushes_single(), 1u);
  EXPECT_EQ(m_.cpu().tlb_flushes_all(), 0u);
}

TEST_F(WriteProtectTest, StoreToTheTableIsEmulatedAndUpdatesTheShadow) {
  const HostAccessResult r = m_.Write(0x5000, 0x140000 | kPwu | kA | kD);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kOk);
  EXPECT_TRUE(r.emulated);
  EXPECT_EQ(m_.Peek(0x120000, 4), 0x140000 | kPwu | kA | kD);
  EXPECT_EQ(m_.Trace(0x400000).hpa, HpaOfGfn(0x140));
  const HostAccessResult load = m_.Read(0x400000);
  EXPECT_EQ(load.value, 0x140u);
  EXPECT_EQ(load.host_faults, 0);
}

class NoWriteProtectTest : public WriteProtectTest {
 protected:
  NoWriteProtectTest()
      : WriteProtectTest(WithBug(Bug::kNoWriteProtectOnShadow)) {}
};

TEST_F(NoWriteProtectTest, OldMappingStaysWritableAndTheShadowGoesStale) {
  EXPECT_TRUE(m_.Trace(0x5000).writable);
  EXPECT_FALSE(m_.Write(0x5000, 0x140000 | kPwu | kA | kD).emulated);
  EXPECT_EQ(m_.Read(0x400000).value, 0x130u);
}

class NoFlushOnProtectTest : public WriteProtectTest {
 protected:
  NoFlushOnProtectTest() : WriteProtectTest(WithBug(Bug::kNoFlushOnProtect)) {}
};

TEST_F(NoFlushOnProtectTest, TlbKeepsTheWritableMapping) {
  EXPECT_FALSE(m_.Trace(0x5000).writable);
  EXPECT_TRUE(TlbHasWritable(0x5000));
  EXPECT_FALSE(m_.Write(0x5000, 0x140000 | kPwu | kA | kD).emulated);
  EXPECT_EQ(m_.Read(0x400000).value, 0x130u);
}

TEST(WriteProtectSharedTest, FlushesEveryGvaOfASharedLeaf) {
  // PDE[0] and PDE[1] share PT 0x102 (one shadow page: both gvas have bit
  // 21 clear), whose PTE[5] maps 0x120: one spte, at gvas 0x5000 and
  // 0x405000. Then PDE[2] makes 0x120 a PT.
  GuestMachine m(Controls(GuestMode::k32Bit));
  FillDataFrames(m);
  m.Poke32(0x101000, 0x102000 | kPwu);
  m.Poke32(0x101004, 0x102000 | kPwu);
  m.Poke32(0x102014, 0x120000 | kPwu | kA | kD);
  ASSERT_TRUE(m.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  EXPECT_EQ(m.Write(0x5000, 1).kind, HostAccessResult::Kind::kOk);
  // The second store leaves a PTE for 0x130 in 0x120's first entry.
  EXPECT_EQ(m.Write(0x405000, 0x130000 | kPwu | kA | kD).kind,
            HostAccessResult::Kind::kOk);
  EXPECT_EQ(m.mmu().pages().size(), 5u);
  EXPECT_EQ(m.mmu().rmap().Sptes(0x120).size(), 1u);
  m.Emulate(0x101008, 0x120000 | kPwu, 4);
  EXPECT_EQ(m.Read(0x800000).value, 0x130u);
  EXPECT_FALSE(m.Trace(0x5000).writable);
  EXPECT_FALSE(m.Trace(0x405000).writable);
  for (const host::HostMapping& mapping : TlbMappings(m.cpu())) {
    if (mapping.gva == 0x5000 || mapping.gva == 0x405000) {
      EXPECT_FALSE(mapping.writable) << std::hex << mapping.gva;
    }
  }
  EXPECT_EQ(m.cpu().tlb_flushes_single(), 2u);
  EXPECT_EQ(m.cpu().tlb_flushes_all(), 0u);
}

// ---------------------------------------------------------------------------
// Flooding and misaligned writes.

TEST(FloodingTest, ThirdWriteWithoutAFaultUnshadows) {
  GuestMachine m(Controls(GuestMode::k32Bit));
  FillDataFrames(m);
  m.Poke32(0x101000, 0x102000 | kPwu);
  m.Poke32(0x102000, 0x110000 | kPwu);
  m.Poke32(0x102004, 0x111000 | kPwu);
  ASSERT_TRUE(m.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  m.Read(0);
  const Role pt_role =
      IndirectRole(BaseRole(Controls(GuestMode::k32Bit), {}), 1, 0, kAccessAll);
  ASSERT_NE(m.mmu().pages().Find(0x102, pt_role), nullptr);

  // Two writes, a fault through the page (gva 0x1000), two writes: the
  // fault restarted the count.
  m.Emulate(0x102020, 0, 4);
  m.Emulate(0x102020, 0, 4);
  EXPECT_EQ(m.Read(0x1000).host_faults, 1);
  m.Emulate(0x102020, 0, 4);
  m.Emulate(0x102020, 0, 4);
  EXPECT_NE(m.mmu().pages().Find(0x102, pt_role), nullptr);
  EXPECT_EQ(m.mmu().counters().unshadows_flooding, 0u);

  m.Emulate(0x102020, 0x115000 | kPwu, 4);
  EXPECT_EQ(m.mmu().pages().Find(0x102, pt_role), nullptr);
  EXPECT_EQ(m.mmu().counters().unshadows_flooding, 1u);
  EXPECT_FALSE(m.Trace(0).ok);
  EXPECT_EQ(m.Peek(0x102020, 4), 0x115000 | kPwu);
  // Shadowed again on the next fault.
  EXPECT_EQ(m.Read(0x8000).value, 0x115u);
  EXPECT_NE(m.mmu().pages().Find(0x102, pt_role), nullptr);
}

// PAE with NXE: PDPTE[0] -> PD 0x102, PDE[0] -> PT 0x103; PTE[0] -> 0x110,
// PTE[1] -> 0x111; both shadowed.
class PaeWriteTest : public ::testing::Test {
 protected:
  explicit PaeWriteTest(ShadowMmu::Options options = {})
      : controls_(Controls(GuestMode::kPae, true, false, /*nxe=*/true)),
        m_(controls_, options) {
    FillDataFrames(m_);
    m_.Poke64(0x101000, 0x102000 | kP);
    m_.Poke64(0x102000, 0x103000 | kPwu);
    m_.Poke64(0x103000, 0x110000 | kPwu | kA | kD);
    m_.Poke64(0x103008, 0x111000 | kPwu | kA | kD);
    EXPECT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
    EXPECT_EQ(m_.Read(0).value, 0x110u);
    EXPECT_EQ(m_.Read(0x1000).value, 0x111u);
  }

  const ShadowPage* Pt() {
    return m_.mmu().pages().Find(
        0x103, IndirectRole(BaseRole(controls_, {}), 1, 0, kAccessAll));
  }

  host::GuestControls controls_;
  GuestMachine m_;
};

TEST_F(PaeWriteTest, WriteSpanningTwoEntriesUnshadows) {
  ASSERT_NE(Pt(), nullptr);
  // Bytes 4..11: PTE[0]'s high half := 0, PTE[1]'s low half := 0x112067.
  m_.Emulate(0x103004, uint64_t{0x112000 | kPwu | kA | kD} << 32, 8);
  EXPECT_EQ(Pt(), nullptr);
  EXPECT_EQ(m_.mmu().counters().unshadows_misaligned, 1u);
  EXPECT_EQ(m_.Read(0x1000).value, 0x112u);
  EXPECT_EQ(m_.Read(0).value, 0x110u);
}

TEST_F(PaeWriteTest, WriteToHalfAnEntryActsOnTheWholeEntry) {
  // Setting NX through the high half.
  m_.Emulate(0x103004, 0x80000000, 4);
  EXPECT_NE(Pt(), nullptr);
  EXPECT_EQ(m_.mmu().counters().sptes_updated_in_place, 1u);
  const host::HostWalkTrace trace = m_.Trace(0);
  ASSERT_TRUE(trace.ok);
  EXPECT_TRUE(trace.nx);
  EXPECT_EQ(trace.hpa, HpaOfGfn(0x110));
  const HostAccessResult r = m_.Fetch(0);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kPageFault);
  EXPECT_EQ(r.error_code, host::kPfPresent | host::kPfFetch);
}

class MisalignedWriteKeptTest : public PaeWriteTest {
 protected:
  MisalignedWriteKeptTest()
      : PaeWriteTest(WithBug(Bug::kMisalignedWriteKept)) {}
};

TEST_F(MisalignedWriteKeptTest, SecondEntryStaysStale) {
  m_.Emulate(0x103004, uint64_t{0x112000 | kPwu | kA | kD} << 32, 8);
  EXPECT_NE(Pt(), nullptr);
  EXPECT_EQ(m_.Read(0x1000).value, 0x111u);
}

// ---------------------------------------------------------------------------
// Roots.

// 4-level: PML4 0x101 (CR3 A) and PML4 0x102 (CR3 B) share PDPT 0x103 ->
// PD 0x104 -> PT 0x105 -> 0x110.
class RootCacheTest : public ::testing::Test {
 protected:
  explicit RootCacheTest(ShadowMmu::Options options = {})
      : m_(Controls(GuestMode::k4Level), options) {
    FillDataFrames(m_);
    m_.Poke64(0x101000, 0x103000 | kPwu);
    m_.Poke64(0x102000, 0x103000 | kPwu);
    m_.Poke64(0x103000, 0x104000 | kPwu);
    m_.Poke64(0x104000, 0x105000 | kPwu);
    m_.Poke64(0x105000, 0x110000 | kPwu);
  }

  GuestMachine m_;
};

TEST_F(RootCacheTest, SwitchingBackReusesTheShadow) {
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  EXPECT_EQ(m_.mmu().pages().size(), 1u);
  EXPECT_EQ(m_.Read(0).host_faults, 1);
  EXPECT_EQ(m_.mmu().pages().size(), 4u);
  const host::HostRoot root_a = m_.mmu().CurrentRoot(host::kBootVcpu);

  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x102000));
  // B's root links to the PDPT shadow A built.
  EXPECT_EQ(m_.Read(0).host_faults, 1);
  EXPECT_EQ(m_.mmu().pages().size(), 5u);
  const host::HostRoot root_b = m_.mmu().CurrentRoot(host::kBootVcpu);
  host::KeptRootList kept = m_.mmu().KeptRoots();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].root, root_a);
  EXPECT_EQ(kept[0].guest.cr3, 0x101000u);

  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  EXPECT_EQ(m_.mmu().CurrentRoot(host::kBootVcpu), root_a);
  EXPECT_EQ(m_.mmu().counters().root_cache_hits, 1u);
  EXPECT_EQ(m_.Read(0).host_faults, 0);
  kept = m_.mmu().KeptRoots();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].root, root_b);
  EXPECT_EQ(kept[0].guest.cr3, 0x102000u);
  // One full flush per switch: A, B, A.
  EXPECT_EQ(m_.cpu().tlb_flushes_all(), 3u);
  EXPECT_EQ(m_.mmu().counters().shadow_pages_created, 5u);

  // Loading the CR3 already loaded keeps everything.
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  EXPECT_EQ(m_.cpu().tlb_flushes_all(), 3u);
  EXPECT_EQ(m_.Read(0).host_faults, 0);
}

TEST_F(RootCacheTest, RoleChangeForgetsEveryRoot) {
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x102000));
  const host::HostRoot before = m_.mmu().CurrentRoot(host::kBootVcpu);
  ASSERT_EQ(m_.mmu().KeptRoots().size(), 1u);
  host::GuestControls controls =
      m_.mmu().CurrentState(host::kBootVcpu).controls;
  controls.efer_nxe = true;
  ASSERT_TRUE(m_.mmu().SetControls(host::kBootVcpu, controls));
  // The old roots read bit 63 as reserved: none of them may be kept.
  EXPECT_TRUE(m_.mmu().KeptRoots().empty());
  EXPECT_NE(m_.mmu().CurrentRoot(host::kBootVcpu), before);
  EXPECT_EQ(m_.cpu().tlb_flushes_all(), 3u);
  // CR4.PSE does not change how 4-level entries read: nothing changes.
  controls.cr4_pse = true;
  ASSERT_TRUE(m_.mmu().SetControls(host::kBootVcpu, controls));
  EXPECT_EQ(m_.cpu().tlb_flushes_all(), 3u);
}

class NaiveRootTest : public RootCacheTest {
 protected:
  NaiveRootTest() : RootCacheTest({.strategy = ShadowMmu::Strategy::kNaive}) {}
};

TEST_F(NaiveRootTest, EveryCr3LoadStartsOver) {
  EXPECT_EQ(m_.mmu().Name(), "naive");
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  m_.Read(0);
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x102000));
  m_.Read(0);
  ASSERT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  EXPECT_EQ(m_.Read(0).host_faults, 1);
  EXPECT_EQ(m_.mmu().counters().root_cache_hits, 0u);
  EXPECT_TRUE(m_.mmu().KeptRoots().empty());
  EXPECT_EQ(m_.mmu().counters().shadow_pages_created, 12u);
}

// PAE: PDPT at 0x101000; PDPTE[0] -> PD 0x102 (PDE[0] -> PT 0x107 -> 0x110)
// and later PD 0x104 (PDE[0] -> PT 0x108 -> 0x111).
class PaeRootTest : public ::testing::Test {
 protected:
  PaeRootTest() : m_(Controls(GuestMode::kPae)) {
    FillDataFrames(m_);
    m_.Poke64(0x101000, 0x102000 | kP);
    m_.Poke64(0x102000, 0x107000 | kPwu);
    m_.Poke64(0x107000, 0x110000 | kPwu);
    m_.Poke64(0x104000, 0x108000 | kPwu);
    m_.Poke64(0x108000, 0x111000 | kPwu);
    EXPECT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  }

  GuestMachine m_;
};

TEST_F(PaeRootTest, ReservedPdpteBitFailsTheLoadAndChangesNothing) {
  m_.Poke64(0x101028, 0x103000 | kP | kW);  // PDPTE[1] of CR3 0x101020
  EXPECT_FALSE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101020));
  EXPECT_EQ(m_.mmu().CurrentState(host::kBootVcpu).cr3, 0x101000u);
  EXPECT_EQ(m_.mmu().CurrentState(host::kBootVcpu).pdptes[0], 0x102000 | kP);
}

TEST_F(PaeRootTest, PdptesChangeOnlyOnCr3LoadOrPseChange) {
  EXPECT_EQ(m_.Read(0).value, 0x110u);
  // A store to the PDPT changes nothing until the registers are reloaded.
  m_.Poke64(0x101000, 0x104000 | kP);
  EXPECT_EQ(m_.Read(0).value, 0x110u);
  host::GuestControls controls =
      m_.mmu().CurrentState(host::kBootVcpu).controls;
  controls.efer_nxe = true;
  ASSERT_TRUE(m_.mmu().SetControls(host::kBootVcpu, controls));
  EXPECT_EQ(m_.mmu().CurrentState(host::kBootVcpu).pdptes[0], 0x102000 | kP);
  controls.cr4_pse = true;
  ASSERT_TRUE(m_.mmu().SetControls(host::kBootVcpu, controls));
  EXPECT_EQ(m_.mmu().CurrentState(host::kBootVcpu).pdptes[0], 0x104000 | kP);
  EXPECT_EQ(m_.Read(0).value, 0x111u);
  // A reload that would load a reserved bit fails and changes nothing.
  m_.Poke64(0x101008, 0x105000 | kP | kW);
  controls.cr4_pse = false;
  EXPECT_FALSE(m_.mmu().SetControls(host::kBootVcpu, controls));
  EXPECT_TRUE(m_.mmu().CurrentState(host::kBootVcpu).controls.cr4_pse);
}

// ---------------------------------------------------------------------------
// Rights that depend on the controls.

// WP=0; PDE[1] -> PT 0x102, PTE[0] -> 0x110 user read-only and clean.
class Cr0WpTest : public ::testing::Test {
 protected:
  explicit Cr0WpTest(ShadowMmu::Options options = {})
      : m_(Controls(GuestMode::k32Bit, /*wp=*/false), options) {
    FillDataFrames(m_);
    m_.Poke32(0x101004, 0x102000 | kPwu);
    m_.Poke32(0x102000, 0x110000 | kP | kU | kA);
    EXPECT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
    EXPECT_EQ(m_.Write(0x400000, 7).kind, HostAccessResult::Kind::kOk);
  }

  void SetWp() {
    host::GuestControls controls =
        m_.mmu().CurrentState(host::kBootVcpu).controls;
    controls.cr0_wp = true;
    ASSERT_TRUE(m_.mmu().SetControls(host::kBootVcpu, controls));
  }

  GuestMachine m_;
};

TEST_F(Cr0WpTest, SupervisorWriteMapsTheRoPageForTheSupervisorOnly) {
  EXPECT_EQ(m_.Peek(0x102000, 4), 0x110000 | kP | kU | kA | kD);
  host::HostWalkTrace trace = m_.Trace(0x400000);
  EXPECT_TRUE(trace.writable);
  EXPECT_FALSE(trace.user);
  // A user read gets the page back as the guest maps it.
  EXPECT_EQ(m_.Read(0x400000, /*user=*/true).value, 7u);
  trace = m_.Trace(0x400000);
  EXPECT_FALSE(trace.writable);
  EXPECT_TRUE(trace.user);
}

TEST_F(Cr0WpTest, SettingWpEndsTheSupervisorWrites) {
  SetWp();
  const HostAccessResult r = m_.Write(0x400000, 8);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kPageFault);
  EXPECT_EQ(r.error_code, host::kPfPresent | host::kPfWrite);
}

class WpNotInRoleTest : public Cr0WpTest {
 protected:
  WpNotInRoleTest() : Cr0WpTest(WithBug(Bug::kWpNotInRole)) {}
};

TEST_F(WpNotInRoleTest, SupervisorWritesSurviveSettingWp) {
  SetWp();
  EXPECT_EQ(m_.Write(0x400000, 8).kind, HostAccessResult::Kind::kOk);
}

TEST(NxeTest, ClearingNxeMakesNxReserved) {
  // 4-level, NXE=1: PML4 0x101 -> 0x103 -> 0x104 -> 0x105, PTE[0] -> 0x110
  // with NX.
  GuestMachine m(Controls(GuestMode::k4Level, true, false, /*nxe=*/true));
  FillDataFrames(m);
  m.Poke64(0x101000, 0x103000 | kPwu);
  m.Poke64(0x103000, 0x104000 | kPwu);
  m.Poke64(0x104000, 0x105000 | kPwu);
  m.Poke64(0x105000, 0x110000 | kPwu | kNx);
  ASSERT_TRUE(m.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  EXPECT_EQ(m.Read(0).value, 0x110u);
  host::GuestControls controls = m.mmu().CurrentState(host::kBootVcpu).controls;
  controls.efer_nxe = false;
  ASSERT_TRUE(m.mmu().SetControls(host::kBootVcpu, controls));
  const HostAccessResult r = m.Read(0);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kPageFault);
  EXPECT_EQ(r.error_code, host::kPfPresent | host::kPfReserved);
}

// ---------------------------------------------------------------------------
// Large pages.

// 32-bit with PSE: PDE[1] and PDE[2] map the same 4 MB frame at gpa
// 0x400000, PDE[1] writable and dirty, PDE[2] read-only.
class LargePageTest : public ::testing::Test {
 protected:
  explicit LargePageTest(ShadowMmu::Options options = {})
      : controls_(Controls(GuestMode::k32Bit, true, /*pse=*/true)),
        m_(controls_, options, {{0x400, 0x400, 0x2000000}}) {
    m_.Poke32(0x400000, 0x400);
    m_.Poke32(0x600000, 0x600);
    m_.Poke32(0x101004, 0x400000 | kPwu | kA | kD | kPS);
    m_.Poke32(0x101008, 0x400000 | kP | kU | kA | kPS);
    EXPECT_TRUE(m_.mmu().LoadCr3(host::kBootVcpu, 0x101000));
    EXPECT_EQ(m_.Read(0x400000, true).value, 0x400u);
    EXPECT_EQ(m_.Read(0x800000, true).value, 0x400u);
  }

  const ShadowPage* Direct(uint64_t gfn, Access access) {
    return m_.mmu().pages().Find(
        gfn, DirectRole(BaseRole(controls_, {}), 1, access));
  }

  host::GuestControls controls_;
  GuestMachine m_;
};

TEST_F(LargePageTest, EachRightsGetTheirOwnDirectPage) {
  EXPECT_EQ(m_.mmu().pages().size(), 6u);
  EXPECT_NE(Direct(0x400, kAccessAll), nullptr);
  EXPECT_NE(Direct(0x400, kAccessUser | kAccessExec), nullptr);
  EXPECT_EQ(m_.Write(0x400000, 1, true).kind, HostAccessResult::Kind::kOk);
  const HostAccessResult r = m_.Write(0x800000, 1, true);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kPageFault);
  EXPECT_EQ(r.error_code, host::kPfPresent | host::kPfWrite | host::kPfUser);
  EXPECT_FALSE(m_.Trace(0x800000).writable);
  // The upper 2 MB of the 4 MB page is another direct page, from gfn 0x600.
  EXPECT_EQ(m_.Read(0x600000, true).value, 0x600u);
  EXPECT_NE(Direct(0x600, kAccessAll), nullptr);
}

class DirectSpSharesRightsTest : public LargePageTest {
 protected:
  DirectSpSharesRightsTest()
      : LargePageTest(WithBug(Bug::kDirectSpSharesRights)) {}
};

TEST_F(DirectSpSharesRightsTest, ReadOnlyPathGetsTheWritableLeaf) {
  EXPECT_EQ(m_.mmu().pages().size(), 5u);
  EXPECT_EQ(m_.Write(0x400000, 1, true).kind, HostAccessResult::Kind::kOk);
  EXPECT_TRUE(m_.Trace(0x800000).writable);
}

// ---------------------------------------------------------------------------
// Running out of host frames.

// The host CPU with a smaller table-frame budget.
class FrameLimitedHost : public host::HostServices {
 public:
  FrameLimitedHost(host::HostCpu& cpu, int max_frames)
      : cpu_(cpu), max_frames_(max_frames) {}

  std::optional<uint64_t> GfnToHfn(uint64_t gfn) const override {
    return cpu_.GfnToHfn(gfn);
  }
  std::span<const host::MemorySlot> MemorySlots() const override {
    return cpu_.MemorySlots();
  }
  bool ReadGuest(uint64_t gpa, std::span<uint8_t> out) const override {
    return cpu_.ReadGuest(gpa, out);
  }
  bool WriteGuest(uint64_t gpa, std::span<const uint8_t> bytes) override {
    return cpu_.WriteGuest(gpa, bytes);
  }
  absl::StatusOr<uint64_t> AllocateFrame() override {
    if (live_ == max_frames_) return absl::ResourceExhaustedError("budget");
    ++live_;
    return cpu_.AllocateFrame();
  }
  void FreeFrame(uint64_t hfn) override {
    --live_;
    cpu_.FreeFrame(hfn);
  }
  uint64_t ReadSpte(uint64_t hpa) const override { return cpu_.ReadSpte(hpa); }
  void WriteSpte(uint64_t hpa, uint64_t value) override {
    cpu_.WriteSpte(hpa, value);
  }
  void ReadTable(
      uint64_t hfn,
      std::span<uint64_t, host::spte::kEntriesPerTable> out) const override {
    cpu_.ReadTable(hfn, out);
  }
  void FlushTlb(host::VcpuSet vcpus, uint64_t gva) override {
    cpu_.FlushTlb(vcpus, gva);
  }
  void FlushTlbAll(host::VcpuSet vcpus) override { cpu_.FlushTlbAll(vcpus); }
  host::TableWindow TableFrames() const override { return cpu_.TableFrames(); }
  void ReportMmuError(std::string_view message) override {
    cpu_.ReportMmuError(message);
  }

 private:
  host::HostCpu& cpu_;
  const int max_frames_;
  int live_ = 0;
};

TEST(FrameBudgetTest, OutOfFramesDropsEverythingAndGoesOn) {
  // 32-bit: the PAE root and four PDs take 5 frames, PT 0x102 the 6th;
  // PT 0x103 finds none, so everything is dropped and rebuilt: root, one
  // PD, one PT.
  ShadowMmu mmu;
  host::HostCpu cpu(
      {{testing::kRamGfn, testing::kRamPages, testing::kRamHostFrame}}, mmu);
  FrameLimitedHost host(cpu, 6);
  ASSERT_TRUE(mmu.Start(host, Controls(GuestMode::k32Bit)).ok());
  cpu.InitGuest(0x101004, std::array<uint8_t, 4>{0x07, 0x20, 0x10, 0x00});
  cpu.InitGuest(0x101008, std::array<uint8_t, 4>{0x07, 0x30, 0x10, 0x00});
  cpu.InitGuest(0x102000, std::array<uint8_t, 4>{0x07, 0x00, 0x11, 0x00});
  cpu.InitGuest(0x103000, std::array<uint8_t, 4>{0x07, 0x10, 0x11, 0x00});
  ASSERT_TRUE(mmu.LoadCr3(host::kBootVcpu, 0x101000));
  EXPECT_EQ(cpu.Access(0x400000, host::AccessKind::kRead, 4, 0, false).kind,
            HostAccessResult::Kind::kOk);
  EXPECT_EQ(mmu.pages().size(), 5u);
  const HostAccessResult r =
      cpu.Access(0x800000, host::AccessKind::kRead, 4, 0, false);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(r.hpa, HpaOfGfn(0x111));
  // One fault ran out of frames; the next built PD and PT in one go.
  EXPECT_EQ(r.host_faults, 2);
  EXPECT_EQ(mmu.pages().size(), 2u);
  EXPECT_EQ(mmu.counters().shadow_pages_zapped, 5u);
}

// ---------------------------------------------------------------------------
// MMIO and INVLPG.

TEST(MmioTest, GpaOutsideRamIsEmulatedNeverMapped) {
  GuestMachine m(Controls(GuestMode::k32Bit));
  m.Poke32(0x101004, 0x102000 | kPwu);
  m.Poke32(0x102000, 0x900000 | kPwu);
  ASSERT_TRUE(m.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  const HostAccessResult r = m.Read(0x400010);
  EXPECT_EQ(r.kind, HostAccessResult::Kind::kMmio);
  EXPECT_EQ(r.gpa, 0x900010u);
  EXPECT_FALSE(m.Trace(0x400010).ok);
  // The walk succeeded: A is set.
  EXPECT_EQ(m.Peek(0x102000, 4), 0x900000 | kPwu | kA);
}

TEST(InvlpgTest, DropsTheLeafAndFlushesOnlyWhatWasMapped) {
  GuestMachine m(Controls(GuestMode::k32Bit));
  FillDataFrames(m);
  m.Poke32(0x101004, 0x102000 | kPwu);
  m.Poke32(0x102000, 0x110000 | kPwu);
  ASSERT_TRUE(m.mmu().LoadCr3(host::kBootVcpu, 0x101000));
  m.Read(0x400000);
  m.mmu().Invlpg(host::kBootVcpu, 0x400000);
  EXPECT_FALSE(m.Trace(0x400000).ok);
  EXPECT_EQ(m.mmu().counters().sptes_zapped, 1u);
  EXPECT_EQ(m.cpu().tlb_flushes_single(), 1u);
  m.mmu().Invlpg(host::kBootVcpu, 0x800000);
  EXPECT_EQ(m.cpu().tlb_flushes_single(), 1u);
  EXPECT_EQ(m.cpu().tlb_flushes_all(), 0u);
}

}  // namespace
}  // namespace shadowdiff::impl
