// The reference processor's accesses: data, MMIO, host addresses, error
// codes and the side-effect-free walk.
#include "model/reference.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/guest_memory.h"
#include "tests/model/guest_builder.h"

namespace shadowdiff::model {
namespace {

// What TakeWrittenGfns hands out, sorted.
std::vector<uint64_t> Written(GuestMemory& memory) {
  std::vector<uint64_t> pages;
  memory.TakeWrittenGfns(&pages);
  std::sort(pages.begin(), pages.end());
  return pages;
}

using namespace ::shadowdiff::model::testing;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Kind = AccessResult::Kind;

// 32-bit layout of walk_test.cc: gva 0x12345678 uses the PDE at 0x103120 and
// the PTE at 0x104D14.
constexpr uint64_t kGva = 0x12345678;
constexpr uint64_t kPde = 0x103120;
constexpr uint64_t kPte = 0x104D14;

class ReferenceTest : public ::testing::Test {
 protected:
  ReferenceTest() : memory_(TwoSlots()) {
    Put32(memory_, kPde, 0x00104000 | kP | kW | kU | kA);
  }

  Reference Make(bool cr0_wp = false, bool efer_nxe = false) {
    Reference ref(memory_,
                  MakeSetup(PAGING_32BIT, cr0_wp, /*cr4_pse=*/true, efer_nxe));
    EXPECT_TRUE(ref.LoadCr3(0x103000));
    return ref;
  }

  GuestMemory memory_;
};

// Gfn 0x107 lies in the slot based at gfn 0x100 on host frame 0x1000000.
TEST_F(ReferenceTest, LoadReadsLittleEndianAtTheGpa) {
  Put32(memory_, kPte, 0x00107000 | kP | kU);
  Put64(memory_, 0x107670, 0x8877665544332211);
  Reference ref = Make();

  const AccessResult r = ref.Access(0x12345670, AccessKind::kRead, 8, 0, true);
  ASSERT_EQ(r.kind, Kind::kOk);
  EXPECT_EQ(r.gpa, 0x107670u);
  EXPECT_EQ(r.hpa, 0x1000007670u);
  EXPECT_EQ(r.value, 0x8877665544332211u);
  EXPECT_EQ(ref.Access(0x12345676, AccessKind::kRead, 2, 0, true).value,
            0x8877u);
  EXPECT_EQ(ref.Access(0x12345671, AccessKind::kRead, 1, 0, true).value, 0x22u);
  EXPECT_EQ(ref.Access(0x12345674, AccessKind::kRead, 4, 0, true).value,
            0x88776655u);
}

TEST_F(ReferenceTest, StoreWritesWidthBytes) {
  Put32(memory_, kPte, 0x00107000 | kP | kW);
  Put64(memory_, 0x107670, 0x8877665544332211);
  Reference ref = Make();

  const AccessResult r =
      ref.Access(0x12345672, AccessKind::kWrite, 2, 0xBBAA, false);
  ASSERT_EQ(r.kind, Kind::kOk);
  EXPECT_EQ(r.gpa, 0x107672u);
  EXPECT_EQ(Get64(memory_, 0x107670), 0x88776655BBAA2211u);
}

TEST_F(ReferenceTest, FetchReadsNothing) {
  Put32(memory_, kPte, 0x00107000 | kP);
  Put64(memory_, 0x107678, 0x1234);
  Reference ref = Make();
  const AccessResult r = ref.Access(kGva, AccessKind::kFetch, 1, 0, false);
  ASSERT_EQ(r.kind, Kind::kOk);
  EXPECT_EQ(r.gpa, 0x107678u);
  EXPECT_EQ(r.hpa, 0x1000007678u);
  EXPECT_EQ(r.value, 0u);
}

// The second slot: gfn 0x4F1 is host frame 0x2000000 + 0xF1.
TEST_F(ReferenceTest, HostAddressFromTheSecondSlot) {
  Put32(memory_, kPte, 0x004F1000 | kP);
  Reference ref = Make();
  const AccessResult r = ref.Access(kGva, AccessKind::kRead, 1, 0, false);
  ASSERT_EQ(r.kind, Kind::kOk);
  EXPECT_EQ(r.hpa, 0x20000F1678u);
}

// Gfn 0x200 is in no slot.
TEST_F(ReferenceTest, StoreToMmioReportsTheGpaAndWritesNoData) {
  Put32(memory_, kPte, 0x00200000 | kP | kW);
  Written(memory_);
  Reference ref = Make();
  const AccessResult r =
      ref.Access(0x12345678, AccessKind::kWrite, 4, 0xFFFFFFFF, false);
  ASSERT_EQ(r.kind, Kind::kMmio);
  EXPECT_EQ(r.gpa, 0x200678u);
  // The translation succeeded, so the PTE got A and D (SDM 4.8); the data
  // went nowhere.
  EXPECT_EQ(Get32(memory_, kPte), 0x00200000u | kP | kW | kA | kD);
  EXPECT_THAT(Written(memory_), ElementsAre(0x104u));
  EXPECT_THAT(memory_.TouchedGfns(), ElementsAre(0x103u, 0x104u));
}

TEST_F(ReferenceTest, LoadAndFetchFromMmio) {
  Put32(memory_, kPte, 0x00200000 | kP);
  Reference ref = Make();
  AccessResult r = ref.Access(kGva, AccessKind::kRead, 1, 0, false);
  EXPECT_EQ(r.kind, Kind::kMmio);
  EXPECT_EQ(r.gpa, 0x200678u);
  r = ref.Access(kGva, AccessKind::kFetch, 1, 0, false);
  EXPECT_EQ(r.kind, Kind::kMmio);
  EXPECT_EQ(r.gpa, 0x200678u);
}

// A page table outside RAM reads as zeros: not present.
TEST_F(ReferenceTest, PageTableInMmioIsNotPresent) {
  Put32(memory_, kPde, 0x00200000 | kP | kW | kU);
  Reference ref = Make();
  const AccessResult r = ref.Access(kGva, AccessKind::kWrite, 1, 0, true);
  ASSERT_EQ(r.kind, Kind::kPageFault);
  EXPECT_EQ(r.error_code, 0x6u);  // W | U, P=0
  EXPECT_EQ(r.cr2, kGva);
  EXPECT_EQ(r.walk.fault_level, 1);
  EXPECT_EQ(r.walk.levels[1].entry_gpa, 0x200D14u);
  EXPECT_THAT(r.optional_accessed_entries, ElementsAre(kPde));
}

// SDM 4.7: with 32-bit paging I/D stays 0 even with IA32_EFER.NXE = 1.
TEST_F(ReferenceTest, NoFetchBitInThirtyTwoBitMode) {
  Reference ref = Make(/*cr0_wp=*/false, /*efer_nxe=*/true);
  const AccessResult r = ref.Access(kGva, AccessKind::kFetch, 1, 0, true);
  ASSERT_EQ(r.kind, Kind::kPageFault);
  EXPECT_EQ(r.error_code, 0x4u);  // U
}

TEST_F(ReferenceTest, WalkOfChangesNothing) {
  Put32(memory_, kPte, 0x00107000 | kP | kW);
  Written(memory_);
  Reference ref = Make();
  EXPECT_EQ(ref.WalkOf(kGva).gpa, 0x107678u);
  EXPECT_THAT(Written(memory_), IsEmpty());
  EXPECT_EQ(Get32(memory_, kPte), 0x00107000u | kP | kW);
}

TEST_F(ReferenceTest, WritePhysicalChangesOnlyMemory) {
  Reference ref = Make();
  const uint8_t bytes[] = {0x01, 0x70, 0x10, 0x00};
  ref.WritePhysical(kPte, bytes);
  EXPECT_EQ(Get32(memory_, kPte), 0x00107001u);
  EXPECT_EQ(ref.WalkOf(kGva).gpa, 0x107678u);
  // Writes outside RAM are dropped.
  ref.WritePhysical(0x200000, bytes);
  EXPECT_EQ(Get32(memory_, 0x200000), 0u);
  EXPECT_EQ(ref.state().cr3, 0x103000u);
}

TEST(ReferenceSetup, StartsFromSetupWithCr3Zero) {
  GuestMemory memory(TwoSlots());
  const Reference ref(memory, MakeSetup(PAGING_4LEVEL, true, true, true, true));
  EXPECT_EQ(ref.state().mode, PAGING_4LEVEL);
  EXPECT_TRUE(ref.state().cr0_wp);
  EXPECT_TRUE(ref.state().cr4_pse);
  EXPECT_TRUE(ref.state().efer_nxe);
  EXPECT_TRUE(ref.state().gbpages);
  EXPECT_EQ(ref.state().cr3, 0u);
}

TEST(ReferenceSetControl, EachBit) {
  GuestMemory memory(TwoSlots());
  Reference ref(memory, MakeSetup(PAGING_4LEVEL));
  EXPECT_TRUE(ref.SetControl(CR0_WP, true));
  EXPECT_TRUE(ref.SetControl(EFER_NXE, true));
  EXPECT_TRUE(ref.SetControl(CR4_PSE, true));
  EXPECT_TRUE(ref.state().cr0_wp && ref.state().efer_nxe &&
              ref.state().cr4_pse);
  EXPECT_TRUE(ref.SetControl(EFER_NXE, false));
  EXPECT_FALSE(ref.state().efer_nxe);
  EXPECT_TRUE(ref.state().cr0_wp);
}

}  // namespace
}  // namespace shadowdiff::model
