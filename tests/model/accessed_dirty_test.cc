// Accessed and dirty flags (SDM 4.8) and the A bits a fault may leave set.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/guest_memory.h"
#include "model/reference.h"
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

// The 4-level layout of walk_test.cc: gva 0x7FAB_CDEF1234 uses the PML4E at
// 0x1037F8, the PDPTE at 0x104578, the PDE at 0x105378 and the PTE at
// 0x106788, which maps gpa 0x109234.
constexpr uint64_t kGva = 0x7FABCDEF1234;
constexpr uint64_t kPml4e = 0x1037F8;
constexpr uint64_t kPdpte = 0x104578;
constexpr uint64_t kPde = 0x105378;
constexpr uint64_t kPte = 0x106788;

class FourLevelAd : public ::testing::Test {
 protected:
  FourLevelAd() : memory_(TwoSlots()) {
    Put64(memory_, kPml4e, 0x104000 | kP | kW | kU);
    Put64(memory_, kPdpte, 0x105000 | kP | kW | kU);
    Put64(memory_, kPde, 0x106000 | kP | kW | kU);
    Put64(memory_, kPte, 0x109000 | kP | kW);
    Written(memory_);
  }

  Reference Make() {
    Reference ref(memory_, MakeSetup(PAGING_4LEVEL, /*cr0_wp=*/true));
    EXPECT_TRUE(ref.LoadCr3(0x103000));
    return ref;
  }

  GuestMemory memory_;
};

TEST_F(FourLevelAd, ReadSetsAccessedEverywhere) {
  Reference ref = Make();
  const AccessResult r = ref.Access(kGva, AccessKind::kRead, 4, 0, false);
  ASSERT_EQ(r.kind, Kind::kOk);
  EXPECT_EQ(Get64(memory_, kPml4e), 0x104000u | kP | kW | kU | kA);
  EXPECT_EQ(Get64(memory_, kPdpte), 0x105000u | kP | kW | kU | kA);
  EXPECT_EQ(Get64(memory_, kPde), 0x106000u | kP | kW | kU | kA);
  EXPECT_EQ(Get64(memory_, kPte), 0x109000u | kP | kW | kA);
  // The result's walk is the one before the update.
  EXPECT_FALSE(r.walk.all_accessed);
  EXPECT_TRUE(ref.WalkOf(kGva).all_accessed);
}

TEST_F(FourLevelAd, WriteSetsDirtyInTheLeafOnly) {
  Reference ref = Make();
  ASSERT_EQ(ref.Access(kGva, AccessKind::kWrite, 4, 7, false).kind, Kind::kOk);
  EXPECT_EQ(Get64(memory_, kPde), 0x106000u | kP | kW | kU | kA);
  EXPECT_EQ(Get64(memory_, kPte), 0x109000u | kP | kW | kA | kD);
}

TEST_F(FourLevelAd, FetchSetsNoDirty) {
  Reference ref = Make();
  ASSERT_EQ(ref.Access(kGva, AccessKind::kFetch, 1, 0, false).kind, Kind::kOk);
  EXPECT_EQ(Get64(memory_, kPte), 0x109000u | kP | kW | kA);
}

TEST_F(FourLevelAd, TwoMegabyteWriteSetsDirtyInThePde) {
  Put64(memory_, kPde, 0x400000 | kP | kW | kPs);
  Reference ref = Make();
  const AccessResult r = ref.Access(kGva, AccessKind::kWrite, 4, 7, false);
  ASSERT_EQ(r.kind, Kind::kOk);
  EXPECT_EQ(r.gpa, 0x4F1234u);
  EXPECT_EQ(Get64(memory_, kPde), 0x400000u | kP | kW | kPs | kA | kD);
  EXPECT_EQ(Get64(memory_, kPte), 0x109000u | kP | kW);
}

// Entries that already have their flags are not written again.
TEST_F(FourLevelAd, NothingWrittenWhenFlagsAreSet) {
  Reference ref = Make();
  ASSERT_EQ(ref.Access(kGva, AccessKind::kWrite, 4, 7, false).kind, Kind::kOk);
  Written(memory_);
  ASSERT_EQ(ref.Access(kGva, AccessKind::kRead, 4, 0, false).kind, Kind::kOk);
  EXPECT_THAT(Written(memory_), IsEmpty());
}

TEST_F(FourLevelAd, NotPresentFaultChangesNothing) {
  Put64(memory_, kPte, 0x109000 | kW);  // P=0
  Put64(memory_, kPdpte, 0x105000 | kP | kW | kU | kA);
  Written(memory_);
  Reference ref = Make();
  const AccessResult r = ref.Access(kGva, AccessKind::kWrite, 4, 7, false);
  ASSERT_EQ(r.kind, Kind::kPageFault);
  EXPECT_EQ(r.error_code, 0x2u);  // W
  EXPECT_EQ(r.cr2, kGva);
  EXPECT_THAT(Written(memory_), IsEmpty());
  // Above the PTE: the PML4E and the PDE have A=0; the PDPTE has A already.
  EXPECT_THAT(r.optional_accessed_entries, ElementsAre(kPml4e, kPde));
}

TEST_F(FourLevelAd, ReservedFaultListsOnlyEntriesAbove) {
  Put64(memory_, kPde, 0x106000 | kP | kW | kU | (uint64_t{1} << 40));
  Written(memory_);
  Reference ref = Make();
  const AccessResult r = ref.Access(kGva, AccessKind::kRead, 4, 0, true);
  ASSERT_EQ(r.kind, Kind::kPageFault);
  EXPECT_EQ(r.error_code, 0xDu);  // P | U | RSVD
  EXPECT_EQ(r.walk.fault_level, 2);
  EXPECT_THAT(Written(memory_), IsEmpty());
  EXPECT_THAT(r.optional_accessed_entries, ElementsAre(kPml4e, kPdpte));
}

// A rights fault is found after the whole walk: every entry above the leaf
// may have been marked.
TEST_F(FourLevelAd, RightsFaultListsEveryNonLeafEntry) {
  Reference ref = Make();
  const AccessResult r = ref.Access(kGva, AccessKind::kRead, 4, 0, true);
  ASSERT_EQ(r.kind, Kind::kPageFault);
  EXPECT_EQ(r.error_code, 0x5u);  // P | U
  EXPECT_THAT(Written(memory_), IsEmpty());
  EXPECT_THAT(r.optional_accessed_entries, ElementsAre(kPml4e, kPdpte, kPde));
}

TEST_F(FourLevelAd, FaultAtTheTopListsNothing) {
  Put64(memory_, kPml4e, 0);
  Reference ref = Make();
  const AccessResult r = ref.Access(kGva, AccessKind::kRead, 4, 0, false);
  ASSERT_EQ(r.kind, Kind::kPageFault);
  EXPECT_EQ(r.error_code, 0u);
  EXPECT_THAT(r.optional_accessed_entries, IsEmpty());
}

// The A/D update comes first: a store to the PTE itself overwrites it, and a
// load of it sees A set.
TEST_F(FourLevelAd, AccessedDirtyBeforeTheDataAccess) {
  // Map the page at 0x106000 (the page table) at gva.
  Put64(memory_, kPte, 0x106000 | kP | kW);
  Reference ref = Make();
  // gva page offset 0x234 is not the PTE (0x788); read it via gva - 0x234 +
  // 0x788.
  const uint64_t pte_gva = kGva - 0x234 + 0x788;
  AccessResult r = ref.Access(pte_gva, AccessKind::kRead, 8, 0, false);
  ASSERT_EQ(r.kind, Kind::kOk);
  EXPECT_EQ(r.gpa, kPte);
  EXPECT_EQ(r.value, 0x106000u | kP | kW | kA);

  r = ref.Access(pte_gva, AccessKind::kWrite, 8, 0x109000 | kP, false);
  ASSERT_EQ(r.kind, Kind::kOk);
  EXPECT_EQ(Get64(memory_, kPte), 0x109000u | kP);
}

// One entry serving as both PDE and PTE (a table that maps itself) gets both
// its A (as PDE) and its D (as PTE).
TEST_F(FourLevelAd, EntryUsedAtTwoLevelsGetsBothUpdates) {
  // PDE index 0x06F and PTE index 0x0F1 differ, so point the PDE at the PD
  // itself and let PTE index 0x0F1 in the PD (0x105788) map the page.
  Put64(memory_, kPde, 0x105000 | kP | kW | kU);
  Put64(memory_, 0x105788, 0x109000 | kP | kW);
  Reference ref = Make();
  ASSERT_EQ(ref.Access(kGva, AccessKind::kWrite, 4, 1, false).kind, Kind::kOk);
  EXPECT_EQ(Get64(memory_, kPde), 0x105000u | kP | kW | kU | kA);
  EXPECT_EQ(Get64(memory_, 0x105788), 0x109000u | kP | kW | kA | kD);

  // Now a truly shared entry: gva 0x7FABCDE6F234 has PD and PT index 0x06F,
  // so the PDE at 0x105378 is also its PTE.
  Put64(memory_, kPde, 0x105000 | kP | kW | kU);
  const AccessResult r =
      ref.Access(0x7FABCDE6F234, AccessKind::kWrite, 4, 1, false);
  ASSERT_EQ(r.kind, Kind::kOk);
  EXPECT_EQ(r.gpa, 0x105234u);
  EXPECT_EQ(Get64(memory_, kPde), 0x105000u | kP | kW | kU | kA | kD);
}

// PAE: PDPTE registers have no A bit; the PDPT in memory is never written.
TEST(PaeAd, PdpteIsNeverMarked) {
  // Layout of walk_test.cc: CR3 0x103060, PDPTE 3 at 0x103078, PDE at
  // 0x104048, PTE at 0x1051A0 for gva 0xC1234567.
  GuestMemory memory(TwoSlots());
  Put64(memory, 0x103078, 0x104000 | kP);
  Put64(memory, 0x104048, 0x105000 | kP | kW);
  Put64(memory, 0x1051A0, 0x108000 | kP | kW);
  Reference ref(memory, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(0x103060));

  ASSERT_EQ(ref.Access(0xC1234567, AccessKind::kWrite, 1, 1, false).kind,
            Kind::kOk);
  EXPECT_EQ(Get64(memory, 0x103078), 0x104000u | kP);
  EXPECT_EQ(Get64(memory, 0x104048), 0x105000u | kP | kW | kA);
  EXPECT_EQ(Get64(memory, 0x1051A0), 0x108000u | kP | kW | kA | kD);

  // A fault at the PDE has nothing above it that has an A bit.
  Put64(memory, 0x104048, 0);
  const AccessResult r = ref.Access(0xC1234567, AccessKind::kRead, 1, 0, false);
  ASSERT_EQ(r.kind, Kind::kPageFault);
  EXPECT_THAT(r.optional_accessed_entries, IsEmpty());
}

// 32-bit entries are 4 bytes: the update must not touch the next entry.
TEST(ThirtyTwoBitAd, UpdatesFourBytes) {
  // gva 0x12345678: PDE at 0x103120, PTE at 0x104D14 (see walk_test.cc).
  GuestMemory memory(TwoSlots());
  Put32(memory, 0x103120, 0x00104000 | kP | kW);
  Put32(memory, 0x104D14, 0x00107000 | kP | kW);
  Put32(memory, 0x104D18, 0xFFFFFFFE);
  Reference ref(memory, MakeSetup(PAGING_32BIT));
  ASSERT_TRUE(ref.LoadCr3(0x103000));
  ASSERT_EQ(ref.Access(0x12345678, AccessKind::kWrite, 1, 1, false).kind,
            Kind::kOk);
  EXPECT_EQ(Get32(memory, 0x103120), 0x00104000u | kP | kW | kA);
  EXPECT_EQ(Get32(memory, 0x104D14), 0x00107000u | kP | kW | kA | kD);
  EXPECT_EQ(Get32(memory, 0x104D18), 0xFFFFFFFEu);
}

}  // namespace
}  // namespace shadowdiff::model
