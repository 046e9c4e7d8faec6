// PAE PDPTE registers (SDM 4.4.1): loaded at CR3 load (and CR4.PSE changes),
// used by every walk without reading memory again.
#include <cstdint>

#include "gtest/gtest.h"
#include "model/guest_memory.h"
#include "model/reference.h"
#include "tests/model/guest_builder.h"

namespace shadowdiff::model {
namespace {

using namespace ::shadowdiff::model::testing;
using Status = WalkResult::Status;

// CR3 = 0x103060: the PDPTEs are at 0x103060, 0x103068, 0x103070, 0x103078.
// gva 0xC1234567 uses PDPTE 3 and PDE index 9 (see walk_test.cc): with PD A
// at 0x104000 its PDE is at 0x104048, with PD B at 0x10B000 at 0x10B048.
constexpr uint64_t kCr3 = 0x103060;
constexpr uint64_t kGva = 0xC1234567;

class PdpteTest : public ::testing::Test {
 protected:
  PdpteTest() : memory_(TwoSlots()) {
    Put64(memory_, 0x103060, 0x10C000 | kP);
    Put64(memory_, 0x103078, 0x104000 | kP);
    Put64(memory_, 0x104048, 0x600000 | kP | kW | kPs);  // 2 MB
    Put64(memory_, 0x10B048, 0xA00000 | kP | kW | kPs);  // 2 MB
  }

  GuestMemory memory_;
};

TEST_F(PdpteTest, LoadCr3LoadsTheFourRegisters) {
  Reference ref(memory_, MakeSetup(PAGING_PAE));
  EXPECT_EQ(ref.state().cr3, 0u);
  ASSERT_TRUE(ref.LoadCr3(kCr3));
  EXPECT_EQ(ref.state().cr3, kCr3);
  EXPECT_EQ(ref.state().pdptes[0], 0x10C001u);
  EXPECT_EQ(ref.state().pdptes[1], 0u);
  EXPECT_EQ(ref.state().pdptes[2], 0u);
  EXPECT_EQ(ref.state().pdptes[3], 0x104001u);
}

TEST_F(PdpteTest, MemoryRewriteIsInvisibleUntilLoadCr3) {
  Reference ref(memory_, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(kCr3));
  EXPECT_EQ(ref.WalkOf(kGva).gpa, 0x634567u);

  Put64(memory_, 0x103078, 0x10B000 | kP);
  WalkResult walk = ref.WalkOf(kGva);
  ASSERT_EQ(walk.status, Status::kOk);
  EXPECT_EQ(walk.levels[0].value, 0x104001u);
  EXPECT_EQ(walk.gpa, 0x634567u);
  // Not even an access (which sets A bits) reads the PDPT again.
  EXPECT_EQ(ref.Access(kGva, AccessKind::kRead, 1, 0, false).gpa, 0x634567u);
  EXPECT_EQ(Get64(memory_, 0x103078), 0x10B001u);

  // Clearing P in memory does not unmap either.
  Put64(memory_, 0x103078, 0);
  EXPECT_EQ(ref.WalkOf(kGva).status, Status::kOk);

  Put64(memory_, 0x103078, 0x10B000 | kP);
  ASSERT_TRUE(ref.LoadCr3(kCr3));
  walk = ref.WalkOf(kGva);
  ASSERT_EQ(walk.status, Status::kOk);
  EXPECT_EQ(walk.levels[1].entry_gpa, 0x10B048u);
  EXPECT_EQ(walk.gpa, 0xA34567u);
}

TEST_F(PdpteTest, NotPresentRegisterFaultsAtLevelThree) {
  Reference ref(memory_, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(kCr3));
  // gva 0x40000000 uses PDPTE 1, which is 0.
  const WalkResult walk = ref.WalkOf(0x40000000);
  EXPECT_EQ(walk.status, Status::kNotPresent);
  EXPECT_EQ(walk.fault_level, 3);
  ASSERT_EQ(walk.levels.size(), 1u);
  EXPECT_EQ(walk.levels[0].entry_gpa, 0x103068u);
  EXPECT_TRUE(walk.levels[0].from_register);
}

TEST_F(PdpteTest, ReservedBitInPresentPdpteFailsLoadAndChangesNothing) {
  // Table 4-8: 2:1, 8:5 and 63:36 are reserved in a present PDPTE.
  for (const int bit : {1, 2, 5, 6, 7, 8, 36, 51, 52, 62, 63}) {
    SCOPED_TRACE(bit);
    GuestMemory memory(TwoSlots());
    Put64(memory, 0x103078, 0x104000 | kP);
    Put64(memory, 0x104048, 0x600000 | kP | kW | kPs);
    Reference ref(memory, MakeSetup(PAGING_PAE));
    ASSERT_TRUE(ref.LoadCr3(kCr3));

    // A second PDPT at 0x105000 whose PDPTE 2 (at 0x105010) is bad.
    Put64(memory, 0x105000, 0x10C000 | kP);
    Put64(memory, 0x105010, 0x10D000 | kP | (uint64_t{1} << bit));
    EXPECT_FALSE(ref.LoadCr3(0x105000));
    EXPECT_EQ(ref.state().cr3, kCr3);
    EXPECT_EQ(ref.state().pdptes[0], 0u);
    EXPECT_EQ(ref.state().pdptes[3], 0x104001u);
    EXPECT_EQ(ref.WalkOf(kGva).gpa, 0x634567u);
  }
}

TEST_F(PdpteTest, ReservedBitsInNotPresentPdpteAreIgnored) {
  Put64(memory_, 0x103068, ~uint64_t{1});
  Reference ref(memory_, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(kCr3));
  EXPECT_EQ(ref.state().pdptes[1], ~uint64_t{1});
  EXPECT_EQ(ref.WalkOf(0x40000000).status, Status::kNotPresent);
}

// Bits 11:9 of a PDPTE are ignored, bits 4:3 are PWT/PCD.
TEST_F(PdpteTest, IgnoredBitsAreAllowed) {
  Put64(memory_, 0x103078, 0x104000 | kP | 0xE18);
  Reference ref(memory_, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(kCr3));
  EXPECT_EQ(ref.WalkOf(kGva).gpa, 0x634567u);
}

// A PDPT outside RAM reads as four not-present PDPTEs.
TEST_F(PdpteTest, PdptInMmioLoadsZeros) {
  Reference ref(memory_, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(kCr3));
  ASSERT_TRUE(ref.LoadCr3(0x800020));
  EXPECT_EQ(ref.state().cr3, 0x800020u);
  for (const uint64_t pdpte : ref.state().pdptes) EXPECT_EQ(pdpte, 0u);
}

TEST_F(PdpteTest, Cr4PseChangeReloads) {
  Reference ref(memory_, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(kCr3));
  Put64(memory_, 0x103078, 0x10B000 | kP);

  // Neither CR0.WP nor EFER.NXE reloads, nor setting CR4.PSE to its value.
  ASSERT_TRUE(ref.SetControl(CR0_WP, true));
  ASSERT_TRUE(ref.SetControl(EFER_NXE, true));
  ASSERT_TRUE(ref.SetControl(CR4_PSE, false));
  EXPECT_EQ(ref.state().pdptes[3], 0x104001u);

  ASSERT_TRUE(ref.SetControl(CR4_PSE, true));
  EXPECT_TRUE(ref.state().cr4_pse);
  EXPECT_EQ(ref.state().pdptes[3], 0x10B001u);
  EXPECT_EQ(ref.WalkOf(kGva).gpa, 0xA34567u);
}

TEST_F(PdpteTest, Cr4PseChangeWithBadPdpteFailsAndChangesNothing) {
  Reference ref(memory_, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(kCr3));
  Put64(memory_, 0x103070, 0x10D000 | kP | kW);

  EXPECT_FALSE(ref.SetControl(CR4_PSE, true));
  EXPECT_FALSE(ref.state().cr4_pse);
  EXPECT_EQ(ref.state().pdptes[2], 0u);
}

// Outside PAE paging there are no PDPTE registers to load.
TEST(PdpteOtherModes, NeitherLoadCr3NorCr4PseTouchesThem) {
  GuestMemory memory(TwoSlots());
  Put64(memory, 0x103000, ~uint64_t{0});
  for (const PagingMode mode : {PAGING_32BIT, PAGING_4LEVEL}) {
    Reference ref(memory, MakeSetup(mode));
    EXPECT_TRUE(ref.LoadCr3(0x103000));
    EXPECT_TRUE(ref.SetControl(CR4_PSE, true));
    for (const uint64_t pdpte : ref.state().pdptes) EXPECT_EQ(pdpte, 0u);
  }
}

}  // namespace
}  // namespace shadowdiff::model
