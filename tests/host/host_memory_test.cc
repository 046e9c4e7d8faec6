#include "host/host_memory.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

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
using ::testing::UnorderedElementsAre;

TEST(HostMemoryTest, UnwrittenMemoryReadsZero) {
  HostMemory memory(1);
  std::array<uint8_t, 3> bytes = {1, 2, 3};
  memory.Read(0x123456789000, bytes);
  EXPECT_THAT(bytes, ElementsAre(0, 0, 0));
  EXPECT_EQ(memory.Read64(0x4000), 0u);
}

TEST(HostMemoryTest, EightByteAccessesAreLittleEndianAcrossFrames) {
  HostMemory memory(1);
  memory.Write64(0x1FFC, 0x1122334455667788);
  EXPECT_EQ(memory.Read64(0x1FFC), 0x1122334455667788u);
  std::array<uint8_t, 2> low = {};
  memory.Read(0x1FFC, low);
  EXPECT_THAT(low, ElementsAre(0x88, 0x77));
  // The fifth byte is the first of the next frame.
  std::array<uint8_t, 1> next_frame = {};
  memory.Read(0x2000, next_frame);
  EXPECT_THAT(next_frame, ElementsAre(0x44));
}

TEST(HostMemoryTest, TracksWrittenFramesUntilTaken) {
  HostMemory memory(1);
  memory.Write64(0x1FFC, 1);  // frames 1 and 2
  const std::array<uint8_t, 1> byte = {7};
  memory.Write(0x5000, byte);  // frame 5
  std::array<uint8_t, 1> sink;
  memory.Read(0x9000, sink);  // reads are not writes
  EXPECT_THAT(Written(memory), UnorderedElementsAre(1, 2, 5));
  EXPECT_THAT(Written(memory), IsEmpty());
}

// Only frames that can back guest RAM are tracked: the MMU's own table writes
// are many, and no guest page lives there.
TEST(HostMemoryTest, WrittenFramesLeaveOutTableFrames) {
  HostMemory memory(1);
  const uint64_t table = *memory.AllocateFrame();
  memory.Write64(table * HostMemory::kPageBytes + 8, 1);
  const std::array<uint8_t, 1> byte = {1};
  memory.Write(0x3000, byte);
  EXPECT_THAT(Written(memory), ElementsAre(3));
}

TEST(HostMemoryTest, TableFramesComeFromAbove4GFrames) {
  HostMemory memory(4);
  EXPECT_EQ(*memory.AllocateFrame(), 0x100000000u);
  EXPECT_EQ(*memory.AllocateFrame(), 0x100000001u);
  EXPECT_EQ(memory.live_table_frames(), 2u);
}

TEST(HostMemoryTest, ReusedFrameIsZeroedButFreedFrameKeepsItsContents) {
  HostMemory memory(4);
  const uint64_t hfn = *memory.AllocateFrame();
  memory.Write64(hfn * 4096 + 8, 0xABCD);
  memory.FreeFrame(hfn);
  EXPECT_EQ(memory.Read64(hfn * 4096 + 8), 0xABCDu);
  EXPECT_EQ(*memory.AllocateFrame(), hfn);
  EXPECT_EQ(memory.Read64(hfn * 4096 + 8), 0u);
}

TEST(HostMemoryTest, BudgetLimitsLiveFrames) {
  HostMemory memory(2);
  const uint64_t first = *memory.AllocateFrame();
  ASSERT_TRUE(memory.AllocateFrame().ok());
  EXPECT_EQ(memory.AllocateFrame().status().code(),
            absl::StatusCode::kResourceExhausted);
  memory.FreeFrame(first);
  EXPECT_EQ(*memory.AllocateFrame(), first);
}

TEST(HostMemoryTest, DoubleFreeDoesNotHandOutAFrameTwice) {
  HostMemory memory(3);
  const uint64_t first = *memory.AllocateFrame();
  ASSERT_EQ(*memory.AllocateFrame(), 0x100000001u);
  memory.FreeFrame(first);
  memory.FreeFrame(first);
  EXPECT_EQ(*memory.AllocateFrame(), first);
  EXPECT_EQ(*memory.AllocateFrame(), 0x100000002u);
}

TEST(HostMemoryTest, FreeingAFrameNotAllocatedIsIgnored) {
  HostMemory memory(1);
  memory.FreeFrame(0x1000000);  // a guest RAM frame
  EXPECT_EQ(*memory.AllocateFrame(), 0x100000000u);
  EXPECT_EQ(memory.AllocateFrame().status().code(),
            absl::StatusCode::kResourceExhausted);
}

// Frame kFirstTableFrame + i is the i-th page of the window, page-aligned,
// and the same page in every case; after Reset a frame not handed out again
// reads as zero though the window still holds the earlier case's bytes.
TEST(HostMemoryTest, TableFramesLieInTheWindowAndResetHidesOldContents) {
  HostMemory memory(4);
  const TableWindow& window = memory.Window();
  EXPECT_EQ(window.base_hpa, HostMemory::kFirstTableFrame * 4096);
  EXPECT_EQ(window.bytes, 4u * 4096);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(window.base) % 4096, 0u);
  const uint64_t first = *memory.AllocateFrame();
  const uint64_t second = *memory.AllocateFrame();
  EXPECT_EQ(memory.TableFrame(first), window.base);
  EXPECT_EQ(memory.TableFrame(second), window.base + 4096);
  memory.Write64(second * 4096 + 16, 0x1234);
  uint64_t in_place = 0;
  std::memcpy(&in_place, window.base + 4096 + 16, sizeof in_place);
  EXPECT_EQ(in_place, 0x1234u);

  memory.Reset();
  EXPECT_EQ(memory.TableFrame(second), nullptr);
  EXPECT_EQ(memory.Read64(second * 4096 + 16), 0u);
  EXPECT_EQ(*memory.AllocateFrame(), first);
  EXPECT_EQ(*memory.AllocateFrame(), second);
  EXPECT_EQ(memory.Read64(second * 4096 + 16), 0u);
  EXPECT_EQ(memory.TableFrame(0x1000000), nullptr);  // guest RAM
}

}  // namespace
}  // namespace shadowdiff::host
