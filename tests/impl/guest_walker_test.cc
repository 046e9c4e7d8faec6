#include "impl/guest_walker.h"

#include <array>
#include <cstdint>
#include <optional>

#include "gtest/gtest.h"
#include "guest_machine.h"
#include "host/guest_state.h"
#include "impl/bug_switches.h"
#include "impl/role.h"

namespace shadowdiff::impl {
namespace {

using host::AccessKind;
using host::GuestMode;
using testing::Controls;
using testing::GuestMachine;
using testing::kA;
using testing::kD;
using testing::kNx;
using testing::kP;
using testing::kPS;
using testing::kU;
using testing::kW;

// 32-bit: PD 0x101, PDE[1] -> PT 0x102 (P|W|U); PT 0x102: PTE[0] -> 0x110
// P|W|U, PTE[1] -> 0x111 P|W (supervisor), PTE[2] -> 0x112 P|U (read-only).
class Walker32Test : public ::testing::Test {
 protected:
  Walker32Test() : machine_(Controls(GuestMode::k32Bit)) {
    machine_.Poke32(0x101004, 0x102000 | kP | kW | kU);
    machine_.Poke32(0x102000, 0x110000 | kP | kW | kU);
    machine_.Poke32(0x102004, 0x111000 | kP | kW);
    machine_.Poke32(0x102008, 0x112000 | kP | kU);
    state_.controls = Controls(GuestMode::k32Bit);
    state_.cr3 = 0x101000;
  }

  GuestWalk Walk(uint64_t gva, AccessKind kind, bool user, BugSet bugs = {}) {
    GuestWalker walker(machine_.cpu(), bugs);
    return walker.Walk(state_, gva, kind, user);
  }

  GuestMachine machine_;
  host::GuestPagingState state_;
};

TEST_F(Walker32Test, FourKilobytePageSetsAccessed) {
  const GuestWalk walk = Walk(0x400123, AccessKind::kRead, true);
  ASSERT_TRUE(walk.ok);
  EXPECT_EQ(walk.gpa, 0x110123u);
  EXPECT_EQ(walk.leaf_level, 1);
  EXPECT_EQ(walk.table_gfn[2], 0x101u);
  EXPECT_EQ(walk.table_gfn[1], 0x102u);
  EXPECT_EQ(walk.table_access[2], kAccessAll);
  EXPECT_EQ(walk.table_access[1], kAccessAll);
  EXPECT_EQ(walk.access, kAccessAll);
  EXPECT_FALSE(walk.dirty);
  EXPECT_EQ(machine_.Peek(0x101004, 4), 0x102000 | kP | kW | kU | kA);
  EXPECT_EQ(machine_.Peek(0x102000, 4), 0x110000 | kP | kW | kU | kA);
}

TEST_F(Walker32Test, WriteSetsDirtyInTheLeafOnly) {
  const GuestWalk walk = Walk(0x400000, AccessKind::kWrite, true);
  ASSERT_TRUE(walk.ok);
  EXPECT_TRUE(walk.dirty);
  EXPECT_EQ(machine_.Peek(0x101004, 4), 0x102000 | kP | kW | kU | kA);
  EXPECT_EQ(machine_.Peek(0x102000, 4), 0x110000 | kP | kW | kU | kA | kD);
}

TEST_F(Walker32Test, FaultingWalkChangesNoEntry) {
  const GuestWalk walk = Walk(0x401000, AccessKind::kRead, true);
  EXPECT_FALSE(walk.ok);
  EXPECT_EQ(walk.error_code, host::kPfPresent | host::kPfUser);
  EXPECT_EQ(machine_.Peek(0x101004, 4), 0x102000 | kP | kW | kU);
  EXPECT_EQ(machine_.Peek(0x102004, 4), 0x111000 | kP | kW);
}

TEST_F(Walker32Test, SupervisorWriteToReadOnlyPageFollowsCr0Wp) {
  state_.controls.cr0_wp = true;
  GuestWalk walk = Walk(0x402000, AccessKind::kWrite, false);
  EXPECT_FALSE(walk.ok);
  EXPECT_EQ(walk.error_code, host::kPfPresent | host::kPfWrite);
  state_.controls.cr0_wp = false;
  walk = Walk(0x402000, AccessKind::kWrite, false);
  EXPECT_TRUE(walk.ok);
  EXPECT_EQ(walk.access, kAccessUser | kAccessExec);
  // User writes ignore WP.
  walk = Walk(0x402000, AccessKind::kWrite, true);
  EXPECT_EQ(walk.error_code, host::kPfPresent | host::kPfWrite | host::kPfUser);
}

TEST_F(Walker32Test, NotPresentHasNoPBit) {
  EXPECT_EQ(Walk(0x403000, AccessKind::kRead, false).error_code, 0u);
  EXPECT_EQ(Walk(0x403000, AccessKind::kWrite, true).error_code,
            host::kPfWrite | host::kPfUser);
  // No PDE for 0x800000.
  EXPECT_EQ(Walk(0x800000, AccessKind::kRead, true).error_code, host::kPfUser);
}

TEST_F(Walker32Test, FetchReportsNoInstructionBitWithoutPae) {
  // SDM 4.7: I/D needs CR4.PAE=1, even with EFER.NXE=1.
  state_.controls.efer_nxe = true;
  EXPECT_EQ(Walk(0x403000, AccessKind::kFetch, false).error_code, 0u);
}

TEST_F(Walker32Test, FourMegabytePdeReservedBitsAndPse36) {
  // PDE[2] maps 0x800000 with bit 17 set: reserved with CR4.PSE=1.
  machine_.Poke32(0x101008, 0x00800000 | (1u << 17) | kPS | kP);
  // PDE[3] maps 4 MB at gpa 0x3_00c00000 (PSE-36: bits 16:13 = 3).
  machine_.Poke32(0x10100C, 0x00C00000 | (3u << 13) | kPS | kW | kP);
  state_.controls.cr4_pse = true;
  GuestWalk walk = Walk(0x800000, AccessKind::kRead, false);
  EXPECT_FALSE(walk.ok);
  EXPECT_EQ(walk.error_code, host::kPfPresent | host::kPfReserved);
  walk = Walk(0xC12345, AccessKind::kRead, false);
  ASSERT_TRUE(walk.ok);
  EXPECT_EQ(walk.gpa, 0x300C12345u);
  EXPECT_EQ(walk.leaf_level, 2);
  // Without PSE, PS is ignored: PDE[2] points at a "table" at gfn 0x820,
  // outside RAM, which reads as not present.
  state_.controls.cr4_pse = false;
  walk = Walk(0x800000, AccessKind::kRead, false);
  EXPECT_FALSE(walk.ok);
  EXPECT_EQ(walk.error_code, 0u);
}

// 4-level: PML4 0x101[0] -> PDPT 0x102 -> PD 0x103 -> PT 0x104, PTE[0] ->
// 0x110 with NX.
class Walker4LevelTest : public ::testing::Test {
 protected:
  Walker4LevelTest() : machine_(Controls(GuestMode::k4Level)) {
    machine_.Poke64(0x101000, 0x102000 | kP | kW | kU);
    machine_.Poke64(0x102000, 0x103000 | kP | kW | kU);
    machine_.Poke64(0x103000, 0x104000 | kP | kW | kU);
    machine_.Poke64(0x104000, 0x110000 | kP | kW | kU | kNx);
    state_.controls = Controls(GuestMode::k4Level);
    state_.cr3 = 0x101000;
  }

  GuestWalk Walk(uint64_t gva, AccessKind kind) {
    GuestWalker walker(machine_.cpu(), {});
    return walker.Walk(state_, gva, kind, false);
  }

  GuestMachine machine_;
  host::GuestPagingState state_;
};

TEST_F(Walker4LevelTest, NxIsReservedWithoutNxe) {
  GuestWalk walk = Walk(0, AccessKind::kRead);
  EXPECT_EQ(walk.error_code, host::kPfPresent | host::kPfReserved);
  state_.controls.efer_nxe = true;
  walk = Walk(0, AccessKind::kRead);
  ASSERT_TRUE(walk.ok);
  EXPECT_EQ(walk.access, kAccessWrite | kAccessUser);
  walk = Walk(0, AccessKind::kFetch);
  EXPECT_EQ(walk.error_code, host::kPfPresent | host::kPfFetch);
}

TEST_F(Walker4LevelTest, AddressBitsAboveMaxPhysAddrAreReserved) {
  machine_.Poke64(0x103000, 0x104000 | (uint64_t{1} << 36) | kP | kW | kU);
  EXPECT_EQ(Walk(0, AccessKind::kRead).error_code,
            host::kPfPresent | host::kPfReserved);
  // Bits 62:52 are ignored in 4-level entries.
  machine_.Poke64(0x103000, 0x104000 | (uint64_t{1} << 52) | kP | kW | kU);
  state_.controls.efer_nxe = true;
  EXPECT_TRUE(Walk(0, AccessKind::kRead).ok);
}

TEST_F(Walker4LevelTest, LargePageBits) {
  // PML4E.PS is always reserved.
  machine_.Poke64(0x101000, 0x102000 | kP | kW | kU | kPS);
  EXPECT_EQ(Walk(0, AccessKind::kRead).error_code,
            host::kPfPresent | host::kPfReserved);
  machine_.Poke64(0x101000, 0x102000 | kP | kW | kU);
  // A 1 GB PDPTE for gva 1 GB: reserved without gbpages.
  machine_.Poke64(0x102008, 0x40000000 | kP | kW | kPS);
  EXPECT_EQ(Walk(0x40001234, AccessKind::kRead).error_code,
            host::kPfPresent | host::kPfReserved);
  state_.controls.gbpages = true;
  GuestWalk walk = Walk(0x40001234, AccessKind::kRead);
  ASSERT_TRUE(walk.ok);
  EXPECT_EQ(walk.leaf_level, 3);
  EXPECT_EQ(walk.gpa, 0x40001234u);
  // A 2 MB PDE with bit 13 (above PAT) set.
  machine_.Poke64(0x103008, 0x200000 | (1u << 13) | kP | kPS);
  EXPECT_EQ(Walk(0x200000, AccessKind::kRead).error_code,
            host::kPfPresent | host::kPfReserved);
}

// PAE: PDPT at 0x101000. Memory PDPTE[0] -> PD 0x102, whose PDE[0] -> PT
// 0x104 -> 0x110; the register says PD 0x103, PDE[0] -> PT 0x105 -> 0x111.
class WalkerPaeTest : public ::testing::Test {
 protected:
  WalkerPaeTest() : machine_(Controls(GuestMode::kPae)) {
    machine_.Poke64(0x101000, 0x102000 | kP);
    machine_.Poke64(0x102000, 0x104000 | kP | kW | kU);
    machine_.Poke64(0x104000, 0x110000 | kP | kW | kU);
    machine_.Poke64(0x103000, 0x105000 | kP | kW | kU);
    machine_.Poke64(0x105000, 0x111000 | kP | kW | kU);
    state_.controls = Controls(GuestMode::kPae);
    state_.cr3 = 0x101000;
    state_.pdptes = {0x103000 | kP, 0, 0, 0};
  }

  GuestWalk Walk(uint64_t gva, BugSet bugs = {}) {
    GuestWalker walker(machine_.cpu(), bugs);
    return walker.Walk(state_, gva, AccessKind::kRead, false);
  }

  GuestMachine machine_;
  host::GuestPagingState state_;
};

TEST_F(WalkerPaeTest, UsesThePdpteRegisters) {
  const GuestWalk walk = Walk(0x123);
  ASSERT_TRUE(walk.ok);
  EXPECT_EQ(walk.gpa, 0x111123u);
  EXPECT_EQ(walk.table_gfn[2], 0x103u);
  // PDPTEs have no A bit.
  EXPECT_EQ(machine_.Peek(0x101000, 8), 0x102000 | kP);
  EXPECT_EQ(machine_.Peek(0x103000, 8), 0x105000 | kP | kW | kU | kA);
  // PDPTE 1 is not present.
  EXPECT_EQ(Walk(0x40000000).error_code, 0u);
}

TEST_F(WalkerPaeTest, PdpteRereadBugReadsMemory) {
  BugSet bugs;
  bugs.Add(Bug::kPaePdpteReread);
  const GuestWalk walk = Walk(0x123, bugs);
  ASSERT_TRUE(walk.ok);
  EXPECT_EQ(walk.gpa, 0x110123u);
}

TEST_F(WalkerPaeTest, PaeReservesBitsUpTo62) {
  machine_.Poke64(0x103000, 0x105000 | (uint64_t{1} << 52) | kP | kW | kU);
  EXPECT_EQ(Walk(0).error_code, host::kPfPresent | host::kPfReserved);
}

TEST_F(WalkerPaeTest, LoadPdptesRefusesReservedBits) {
  std::optional<std::array<uint64_t, 4>> pdptes =
      LoadPdptes(machine_.cpu(), 0x101000);
  ASSERT_TRUE(pdptes.has_value());
  EXPECT_EQ((*pdptes)[0], 0x102000 | kP);
  // CR3[11:5] place the PDPT within the page.
  machine_.Poke64(0x101020, 0x104000 | kP | 0x18);  // PWT, PCD are fine
  machine_.Poke64(0x101028, 0x6);  // not present: the rest is ignored
  pdptes = LoadPdptes(machine_.cpu(), 0x101020);
  ASSERT_TRUE(pdptes.has_value());
  EXPECT_EQ((*pdptes)[0], 0x104000 | kP | 0x18);
  for (uint64_t reserved :
       {uint64_t{1} << 1, uint64_t{1} << 2, uint64_t{1} << 5, uint64_t{1} << 8,
        uint64_t{1} << 36, uint64_t{1} << 52, uint64_t{1} << 63}) {
    machine_.Poke64(0x101028, 0x105000 | kP | reserved);
    EXPECT_FALSE(LoadPdptes(machine_.cpu(), 0x101020).has_value())
        << std::hex << reserved;
  }
}

}  // namespace
}  // namespace shadowdiff::impl
