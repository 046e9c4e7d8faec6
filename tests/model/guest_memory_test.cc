#include "model/guest_memory.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
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
using ::testing::UnorderedElementsAre;

TEST(GuestMemory, RamIsExactlyTheSlots) {
  const GuestMemory memory(TwoSlots());
  EXPECT_FALSE(memory.IsRam(0xFFFFF));
  EXPECT_TRUE(memory.IsRam(0x100000));
  EXPECT_TRUE(memory.IsRam(0x10FFFF));
  EXPECT_FALSE(memory.IsRam(0x110000));
  EXPECT_TRUE(memory.IsRam(0x4FFFFF));
  EXPECT_FALSE(memory.IsRam(0x500000));
}

TEST(GuestMemory, HostAddress) {
  const GuestMemory memory(TwoSlots());
  EXPECT_EQ(memory.HostAddress(0x100000), 0x1000000000u);
  EXPECT_EQ(memory.HostAddress(0x10FABC), 0x100000FABCu);
  EXPECT_EQ(memory.HostAddress(0x4F1678), 0x20000F1678u);
  EXPECT_EQ(memory.HostAddress(0x110000), std::nullopt);
}

TEST(GuestMemory, StartsZeroAndReadsBackWrites) {
  GuestMemory memory(TwoSlots());
  EXPECT_EQ(Get64(memory, 0x100008), 0u);
  EXPECT_THAT(memory.TouchedGfns(), IsEmpty());
  Put64(memory, 0x100008, 0x0102030405060708);
  EXPECT_EQ(Get64(memory, 0x100008), 0x0102030405060708u);
  EXPECT_EQ(Get32(memory, 0x10000C), 0x01020304u);
}

TEST(GuestMemory, OutsideRamReadsFailAsZeroAndWritesAreDropped) {
  GuestMemory memory(TwoSlots());
  std::array<uint8_t, 4> bytes = {1, 2, 3, 4};
  EXPECT_FALSE(memory.Write(0x200000, bytes));
  EXPECT_FALSE(memory.Read(0x200000, bytes));
  EXPECT_THAT(bytes, ElementsAre(0, 0, 0, 0));
  EXPECT_THAT(Written(memory), IsEmpty());
  EXPECT_THAT(memory.TouchedGfns(), IsEmpty());
}

// A span across a page boundary lands in both pages; bytes past the end of
// RAM are dropped.
TEST(GuestMemory, SpansPages) {
  GuestMemory memory(TwoSlots());
  const std::array<uint8_t, 4> in = {1, 2, 3, 4};
  EXPECT_TRUE(memory.Write(0x100FFE, in));
  EXPECT_EQ(Get32(memory, 0x100FFE), 0x04030201u);
  EXPECT_EQ(Get32(memory, 0x101000), 0x0403u);

  EXPECT_FALSE(memory.Write(0x10FFFE, in));
  std::array<uint8_t, 4> out = {};
  EXPECT_FALSE(memory.Read(0x10FFFE, out));
  EXPECT_THAT(out, ElementsAre(1, 2, 0, 0));
}

TEST(GuestMemory, WrittenAndTouchedGfns) {
  GuestMemory memory(TwoSlots());
  Put32(memory, 0x4F1000, 1);
  Put32(memory, 0x100000, 1);
  EXPECT_THAT(Written(memory), UnorderedElementsAre(0x4F1u, 0x100u));
  EXPECT_THAT(Written(memory), IsEmpty());
  Put32(memory, 0x100004, 0);
  EXPECT_THAT(Written(memory), ElementsAre(0x100u));
  EXPECT_THAT(memory.TouchedGfns(), ElementsAre(0x100u, 0x4F1u));
}

}  // namespace
}  // namespace shadowdiff::model
