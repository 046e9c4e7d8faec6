#include "host/host_walker.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_memory.h"

namespace shadowdiff::host {
namespace {

// What TakeWrittenFrames hands out, sorted.
std::vector<uint64_t> Written(HostMemory& memory) {
  std::vector<uint64_t> pages;
  memory.TakeWrittenFrames(&pages);
  std::sort(pages.begin(), pages.end());
  return pages;
}

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint64_t kP = 1ull << 0;
constexpr uint64_t kW = 1ull << 1;
constexpr uint64_t kU = 1ull << 2;
constexpr uint64_t kD = 1ull << 6;
constexpr uint64_t kPs = 1ull << 7;
constexpr uint64_t kNx = 1ull << 63;

// gva 0x80_8060_4567: PML4 index 1, PDPT index 2, PD index 3, PT index 4,
// offset 0x567. With the tables below the walk reads
//   PML4E 0x10000 + 1*8 = 0x10008, PDPTE 0x11000 + 2*8 = 0x11010,
//   PDE   0x12000 + 3*8 = 0x12018, PTE   0x13000 + 4*8 = 0x13020.
constexpr uint64_t kGva = 0x8080604567;
constexpr HostRoot k4LevelRoot = {HostRoot::Kind::k4Level, 0x10000};

class HostWalkerTest : public ::testing::Test {
 protected:
  // The full 4 KB path of kGva to the page at hpa 0xABCDE000.
  void Build4KPath() {
    memory_.Write64(0x10008, 0x11000 | kP | kW | kU);
    memory_.Write64(0x11010, 0x12000 | kP | kW | kU);
    memory_.Write64(0x12018, 0x13000 | kP | kW | kU);
    memory_.Write64(0x13020, 0xABCDE000 | kP | kW | kU);
  }

  std::vector<HostMapping> Mappings(const HostRoot& root) const {
    std::vector<HostMapping> mappings;
    EnumerateHostMappings(memory_, root, &mappings);
    return mappings;
  }

  HostMemory memory_{1};
};

TEST_F(HostWalkerTest, FourLevel4KPage) {
  Build4KPath();
  const HostWalkTrace trace = TraceHostWalk(memory_, k4LevelRoot, kGva);
  ASSERT_TRUE(trace.ok);
  EXPECT_THAT(trace.levels, ElementsAre(HostWalkLevel{4, 0x10008, 0x11007},
                                        HostWalkLevel{3, 0x11010, 0x12007},
                                        HostWalkLevel{2, 0x12018, 0x13007},
                                        HostWalkLevel{1, 0x13020, 0xABCDE007}));
  EXPECT_EQ(trace.hpa, 0xABCDE567u);
  EXPECT_EQ(trace.page_size, 0x1000u);
  EXPECT_TRUE(trace.writable);
  EXPECT_TRUE(trace.user);
  EXPECT_FALSE(trace.nx);
  EXPECT_FALSE(trace.dirty);
}

TEST_F(HostWalkerTest, TraceHasNoSideEffects) {
  Build4KPath();
  TraceHostWalk(memory_, k4LevelRoot, kGva);
  EXPECT_EQ(memory_.Read64(0x10008), 0x11007u);
  EXPECT_EQ(memory_.Read64(0x13020), 0xABCDE007u);
}

TEST_F(HostWalkerTest, TwoMegabytePageIgnoresPatBit) {
  memory_.Write64(0x10008, 0x11000 | kP | kW | kU);
  memory_.Write64(0x11010, 0x12000 | kP | kW | kU);
  // Bit 12 is PAT in a large-page entry, not an address bit.
  memory_.Write64(0x12018, 0x40200000 | 0x1000 | kPs | kP | kW);
  const HostWalkTrace trace = TraceHostWalk(memory_, k4LevelRoot, kGva);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.levels.size(), 3u);
  // kGva & 0x1FFFFF = 0x4567.
  EXPECT_EQ(trace.hpa, 0x40204567u);
  EXPECT_EQ(trace.page_size, 0x200000u);
  EXPECT_TRUE(trace.writable);
  EXPECT_FALSE(trace.user);
}

TEST_F(HostWalkerTest, OneGigabytePage) {
  memory_.Write64(0x10008, 0x11000 | kP | kW | kU);
  memory_.Write64(0x11010, 0x80000000 | kPs | kP | kD);
  const HostWalkTrace trace = TraceHostWalk(memory_, k4LevelRoot, kGva);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.levels.size(), 2u);
  // kGva & 0x3FFFFFFF = 0x00604567.
  EXPECT_EQ(trace.hpa, 0x80604567u);
  EXPECT_EQ(trace.page_size, 0x40000000u);
  EXPECT_FALSE(trace.writable);
  EXPECT_TRUE(trace.dirty);
}

TEST_F(HostWalkerTest, UpperHalfGvaIndexesFromPml4Entry256) {
  // 0xFFFF800000000000: PML4 index 256 -> 0x10000 + 256*8 = 0x10800.
  memory_.Write64(0x10800, 0x14000 | kP | kW | kU);
  memory_.Write64(0x14000, 0xC0000000 | kPs | kP);
  const HostWalkTrace trace =
      TraceHostWalk(memory_, k4LevelRoot, 0xFFFF800000000123);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.levels[0].entry_hpa, 0x10800u);
  EXPECT_EQ(trace.hpa, 0xC0000123u);
}

TEST_F(HostWalkerTest, NonCanonicalGvaFaultsWithoutReading) {
  const HostWalkTrace trace = WalkHostForAccess(
      memory_, k4LevelRoot, 0x0000800000000000, AccessKind::kRead, true);
  EXPECT_FALSE(trace.ok);
  EXPECT_THAT(trace.levels, IsEmpty());
  EXPECT_EQ(trace.error_code, kPfUser);
}

TEST_F(HostWalkerTest, NotPresentIgnoresEveryOtherBit) {
  memory_.Write64(0x10008, 0x11000 | kP | kW | kU);
  // Reserved bits and PS, but P=0.
  memory_.Write64(0x11010, 0x0004000000000000 | kPs | kW);
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kFetch, false);
  EXPECT_FALSE(trace.ok);
  EXPECT_EQ(trace.levels.size(), 2u);
  EXPECT_EQ(trace.error_code, kPfFetch);
}

TEST_F(HostWalkerTest, BitsAboveMaxPhysAddrAreReserved) {
  Build4KPath();
  memory_.Write64(0x13020, 0xABCDE000 | (1ull << 46) | kP | kW | kU);
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kWrite, true);
  EXPECT_FALSE(trace.ok);
  EXPECT_EQ(trace.levels.size(), 4u);
  // P | W | U | RSVD.
  EXPECT_EQ(trace.error_code, 0xFu);
  EXPECT_EQ(TraceHostWalk(memory_, k4LevelRoot, kGva).error_code, 0x9u);
}

TEST_F(HostWalkerTest, ReservedBitsWinOverMissingRights) {
  Build4KPath();
  memory_.Write64(0x12018, 0x13000 | (1ull << 51) | kP);
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kWrite, true);
  EXPECT_EQ(trace.error_code, 0xFu);
}

TEST_F(HostWalkerTest, PsInPml4eIsReserved) {
  // Aligned to 512 GB, so only the PS rule can make it fault.
  memory_.Write64(0x10008, 0x8000000000 | kPs | kP | kW | kU);
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kRead, false);
  EXPECT_FALSE(trace.ok);
  EXPECT_EQ(trace.error_code, 0x9u);
}

TEST_F(HostWalkerTest, MisalignedLargePagesAreReserved) {
  memory_.Write64(0x10008, 0x11000 | kP | kW | kU);
  memory_.Write64(0x11010, 0x12000 | kP | kW | kU);
  memory_.Write64(0x12018, 0x40200000 | 0x2000 | kPs | kP);  // bit 13
  EXPECT_EQ(TraceHostWalk(memory_, k4LevelRoot, kGva).error_code, 0x9u);
  memory_.Write64(0x11010, 0x80200000 | kPs | kP);  // bit 21 of a 1 GB page
  EXPECT_EQ(TraceHostWalk(memory_, k4LevelRoot, kGva).error_code, 0x9u);
}

TEST_F(HostWalkerTest, UserAccessNeedsUAtEveryLevel) {
  Build4KPath();
  memory_.Write64(0x12018, 0x13000 | kP | kW);
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kRead, true);
  EXPECT_FALSE(trace.ok);
  EXPECT_EQ(trace.error_code, kPfPresent | kPfUser);
  EXPECT_TRUE(
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kRead, false)
          .ok);
}

TEST_F(HostWalkerTest, SupervisorWriteNeedsWBecauseWpIsSet) {
  Build4KPath();
  memory_.Write64(0x10008, 0x11000 | kP | kU);
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kWrite, false);
  EXPECT_FALSE(trace.ok);
  EXPECT_EQ(trace.error_code, kPfPresent | kPfWrite);
}

TEST_F(HostWalkerTest, NxAtAnyLevelForbidsFetch) {
  Build4KPath();
  memory_.Write64(0x11010, 0x12000 | kNx | kP | kW | kU);
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kFetch, true);
  EXPECT_FALSE(trace.ok);
  EXPECT_EQ(trace.error_code, 0x15u);  // P | U | I/D
  EXPECT_TRUE(
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kRead, true)
          .ok);
}

TEST_F(HostWalkerTest, SuccessfulReadSetsAccessedEverywhere) {
  Build4KPath();
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kRead, true);
  ASSERT_TRUE(trace.ok);
  EXPECT_FALSE(trace.dirty);
  EXPECT_EQ(memory_.Read64(0x10008), 0x11027u);
  EXPECT_EQ(memory_.Read64(0x11010), 0x12027u);
  EXPECT_EQ(memory_.Read64(0x12018), 0x13027u);
  EXPECT_EQ(memory_.Read64(0x13020), 0xABCDE027u);
}

TEST_F(HostWalkerTest, SuccessfulWriteSetsDirtyInTheLeafOnly) {
  Build4KPath();
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kWrite, true);
  ASSERT_TRUE(trace.ok);
  EXPECT_TRUE(trace.dirty);
  EXPECT_EQ(memory_.Read64(0x12018), 0x13027u);
  EXPECT_EQ(memory_.Read64(0x13020), 0xABCDE067u);
}

TEST_F(HostWalkerTest, FaultingAccessChangesNoEntry) {
  Build4KPath();
  memory_.Write64(0x13020, 0xABCDE000 | kP | kU);
  Written(memory_);
  EXPECT_FALSE(
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kWrite, true)
          .ok);
  EXPECT_THAT(Written(memory_), IsEmpty());
}

TEST_F(HostWalkerTest, EntriesAlreadyAccessedAreNotRewritten) {
  Build4KPath();
  ASSERT_TRUE(
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kRead, true)
          .ok);
  Written(memory_);
  ASSERT_TRUE(
      WalkHostForAccess(memory_, k4LevelRoot, kGva, AccessKind::kRead, true)
          .ok);
  EXPECT_THAT(Written(memory_), IsEmpty());
}

// gva 0xC0403ABC: root index 3, PD index 2, PT index 3, offset 0xABC. With the
// root at 0x20000 the walk reads 0x20000 + 3*8 = 0x20018, then
// 0x21000 + 2*8 = 0x21010 and 0x22000 + 3*8 = 0x22018.
constexpr uint64_t kPaeGva = 0xC0403ABC;
constexpr HostRoot kPaeRoot = {HostRoot::Kind::kPae, 0x20000};

TEST_F(HostWalkerTest, PaeRootUsesOnlyPresentAndFrame) {
  // NX, bit 46 and no W or U in the root entry: none of them count.
  const uint64_t root_entry = kNx | (1ull << 46) | 0x21000 | kP;
  memory_.Write64(0x20018, root_entry);
  memory_.Write64(0x21010, 0x22000 | kP | kW | kU);
  memory_.Write64(0x22018, 0x5000 | kP | kW | kU);
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, kPaeRoot, kPaeGva, AccessKind::kWrite, true);
  ASSERT_TRUE(trace.ok);
  EXPECT_THAT(trace.levels, ElementsAre(HostWalkLevel{3, 0x20018, root_entry},
                                        HostWalkLevel{2, 0x21010, 0x22007},
                                        HostWalkLevel{1, 0x22018, 0x5007}));
  EXPECT_EQ(trace.hpa, 0x5ABCu);
  EXPECT_TRUE(trace.writable);
  EXPECT_TRUE(trace.user);
  EXPECT_FALSE(trace.nx);
  // The root entries have no A bit.
  EXPECT_EQ(memory_.Read64(0x20018), root_entry);
  EXPECT_EQ(memory_.Read64(0x21010), 0x22027u);
  EXPECT_EQ(memory_.Read64(0x22018), 0x5067u);
}

TEST_F(HostWalkerTest, PaeRootIgnoresLowFiveBitsOfItsAddress) {
  memory_.Write64(0x20018, 0x21000 | kP);
  memory_.Write64(0x21010, 0x22000 | kP);
  memory_.Write64(0x22018, 0x5000 | kP);
  const HostWalkTrace trace =
      TraceHostWalk(memory_, {HostRoot::Kind::kPae, 0x2001F}, kPaeGva);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.levels[0].entry_hpa, 0x20018u);
}

TEST_F(HostWalkerTest, PaeTwoMegabytePage) {
  memory_.Write64(0x20018, 0x21000 | kP);
  memory_.Write64(0x21010, 0x600000 | kPs | kP);
  const HostWalkTrace trace = TraceHostWalk(memory_, kPaeRoot, kPaeGva);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.levels.size(), 2u);
  EXPECT_EQ(trace.hpa, 0x603ABCu);
  EXPECT_EQ(trace.page_size, 0x200000u);
}

TEST_F(HostWalkerTest, PaeNotPresentRootEntry) {
  const HostWalkTrace trace =
      WalkHostForAccess(memory_, kPaeRoot, kPaeGva, AccessKind::kWrite, false);
  EXPECT_FALSE(trace.ok);
  EXPECT_THAT(trace.levels, ElementsAre(HostWalkLevel{3, 0x20018, 0}));
  EXPECT_EQ(trace.error_code, kPfWrite);
}

TEST_F(HostWalkerTest, PaeGvaAbove4GFaults) {
  memory_.Write64(0x20000, 0x21000 | kP);
  memory_.Write64(0x21000, 0x600000 | kPs | kP);
  const HostWalkTrace trace = WalkHostForAccess(memory_, kPaeRoot, 0x100000000,
                                                AccessKind::kRead, false);
  EXPECT_FALSE(trace.ok);
  EXPECT_THAT(trace.levels, IsEmpty());
  EXPECT_EQ(trace.error_code, 0u);
}

TEST_F(HostWalkerTest, EnumeratesFourLevelLeavesWithCombinedRights) {
  Build4KPath();
  memory_.Write64(0x13028, 0xABCDF000 | kNx | kP | kU);      // PT[5]
  memory_.Write64(0x13030, 0xABCE0000 | (1ull << 47) | kP);  // reserved
  memory_.Write64(0x13038, 0xABCE1000);                      // not present
  memory_.Write64(0x12020, 0x40200000 | kPs | kP | kW);      // PD[4]
  memory_.Write64(0x11018, 0x80000000 | kNx | kPs | kP);     // PDPT[3]
  memory_.Write64(0x10800, 0x14000 | kP | kW | kU);          // PML4[256]
  memory_.Write64(0x14000, 0xC0000000 | kPs | kP | kW | kU);
  EXPECT_THAT(
      Mappings(k4LevelRoot),
      ElementsAre(
          HostMapping{0x8080604000, 0x1000, 0xABCDE000, true, true, false},
          HostMapping{0x8080605000, 0x1000, 0xABCDF000, false, true, true},
          HostMapping{0x8080800000, 0x200000, 0x40200000, true, false, false},
          HostMapping{0x80C0000000, 0x40000000, 0x80000000, false, false, true},
          HostMapping{0xFFFF800000000000, 0x40000000, 0xC0000000, true, true,
                      false}));
}

TEST_F(HostWalkerTest, EnumeratesPaeLeaves) {
  memory_.Write64(0x20000, 0x23000 | kP);
  memory_.Write64(0x23008, 0x600000 | kPs | kP | kW | kU);  // PD[1]
  memory_.Write64(0x20018, 0x21000 | kP);
  memory_.Write64(0x21010, 0x22000 | kP | kU);
  memory_.Write64(0x22018, 0x5000 | kP | kW | kU);
  EXPECT_THAT(
      Mappings(kPaeRoot),
      ElementsAre(HostMapping{0x200000, 0x200000, 0x600000, true, true, false},
                  HostMapping{0xC0403000, 0x1000, 0x5000, false, true, false}));
}

}  // namespace
}  // namespace shadowdiff::host
