// Walks in each mode and page size. Every address below was worked out by
// hand from the SDM formulas (SDM 4.3, 4.4, 4.5); the comments show the work.
#include "model/walk.h"

#include <cstdint>

#include "gtest/gtest.h"
#include "model/guest_memory.h"
#include "model/reference.h"
#include "tests/model/guest_builder.h"

namespace shadowdiff::model {
namespace {

using namespace ::shadowdiff::model::testing;
using Status = WalkResult::Status;

void ExpectLevel(const WalkResult& walk, size_t i, int level,
                 uint64_t entry_gpa) {
  ASSERT_LT(i, walk.levels.size());
  EXPECT_EQ(walk.levels[i].level, level) << "levels[" << i << "]";
  EXPECT_EQ(walk.levels[i].entry_gpa, entry_gpa) << "levels[" << i << "]";
}

// 32-bit paging, gva 0x12345678:
//   PDE index = gva[31:22] = 0x048, PTE index = gva[21:12] = 0x345,
//   offset gva[11:0] = 0x678, and 4 MB offset gva[21:0] = 0x345678.
//   CR3 = 0x103000: PDE at 0x103000 + 4 * 0x048 = 0x103120.
//   PDE -> PT at 0x104000: PTE at 0x104000 + 4 * 0x345 = 0x104D14.
constexpr uint64_t k32Gva = 0x12345678;

TEST(Walk32Bit, FourKilobytePage) {
  GuestMemory memory(TwoSlots());
  Put32(memory, 0x103120, 0x00104000 | kP | kW | kU | kA);
  Put32(memory, 0x104D14, 0x00107000 | kP | kW | kU | kA | kD);
  Reference ref(memory, MakeSetup(PAGING_32BIT));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(k32Gva);
  ASSERT_EQ(walk.status, Status::kOk);
  ASSERT_EQ(walk.levels.size(), 2u);
  ExpectLevel(walk, 0, 2, 0x103120);
  ExpectLevel(walk, 1, 1, 0x104D14);
  EXPECT_EQ(walk.levels[1].value, 0x00107067u);
  EXPECT_EQ(walk.gpa, 0x107678u);
  EXPECT_EQ(walk.page_size, 0x1000u);
  EXPECT_TRUE(walk.writable);
  EXPECT_TRUE(walk.user);
  EXPECT_FALSE(walk.nx);
  EXPECT_TRUE(walk.all_accessed);
  EXPECT_TRUE(walk.dirty);
}

// A 4 MB PDE at 0x00C00000: gpa = 0x00C00000 + 0x345678 = 0x00F45678.
TEST(Walk32Bit, FourMegabytePageBelow4G) {
  GuestMemory memory(TwoSlots());
  Put32(memory, 0x103120, 0x00C00000 | kP | kW | kPs);
  Reference ref(memory, MakeSetup(PAGING_32BIT, false, /*cr4_pse=*/true));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(k32Gva);
  ASSERT_EQ(walk.status, Status::kOk);
  ASSERT_EQ(walk.levels.size(), 1u);
  ExpectLevel(walk, 0, 2, 0x103120);
  EXPECT_EQ(walk.gpa, 0xF45678u);
  EXPECT_EQ(walk.page_size, 0x400000u);
  EXPECT_TRUE(walk.writable);
  EXPECT_FALSE(walk.user);
}

// PSE-36: PDE bits 16:13 = 0b0101 give gpa bits 35:32 = 5, and PAT (bit 12)
// is no address bit: PDE 0x00C0B087 maps gpa 0x5_00C00000 + 0x345678.
TEST(Walk32Bit, FourMegabytePageWithPse36HighBits) {
  GuestMemory memory(TwoSlots());
  Put32(memory, 0x103120, 0x00C0B087);
  Reference ref(memory, MakeSetup(PAGING_32BIT, false, /*cr4_pse=*/true));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(k32Gva);
  ASSERT_EQ(walk.status, Status::kOk);
  EXPECT_EQ(walk.gpa, 0x500F45678u);
  EXPECT_EQ(walk.page_size, 0x400000u);
}

// With CR4.PSE=0 the same PDE's PS bit is ignored: it points at a page table
// at 0x00C0B000 (bits 31:12), whose PTE is at 0x00C0B000 + 0xD14. That is
// outside RAM, so it reads as 0: not present at level 1.
TEST(Walk32Bit, PsIgnoredWithoutCr4Pse) {
  GuestMemory memory(TwoSlots());
  Put32(memory, 0x103120, 0x00C0B087);
  Reference ref(memory, MakeSetup(PAGING_32BIT, false, /*cr4_pse=*/false));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(k32Gva);
  EXPECT_EQ(walk.status, Status::kNotPresent);
  EXPECT_EQ(walk.fault_level, 1);
  ASSERT_EQ(walk.levels.size(), 2u);
  ExpectLevel(walk, 1, 1, 0xC0BD14);
  EXPECT_EQ(walk.levels[1].value, 0u);
}

// PAE paging, gva 0xC1234567:
//   PDPTE index = gva[31:30] = 3, PDE index = gva[29:21] = 0x009,
//   PTE index = gva[20:12] = 0x034, 2 MB offset gva[20:0] = 0x034567.
//   CR3 = 0x103060: PDPTE 3 loaded from 0x103060 + 8 * 3 = 0x103078.
//   PDPTE -> PD at 0x104000: PDE at 0x104000 + 8 * 0x009 = 0x104048.
//   PDE -> PT at 0x105000: PTE at 0x105000 + 8 * 0x034 = 0x1051A0.
constexpr uint64_t kPaeGva = 0xC1234567;

TEST(WalkPae, FourKilobytePage) {
  GuestMemory memory(TwoSlots());
  Put64(memory, 0x103078, 0x104000 | kP);
  Put64(memory, 0x104048, 0x105000 | kP | kW | kU | kA);
  Put64(memory, 0x1051A0, 0x108000 | kP | kW | kU | kA);
  Reference ref(memory, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(0x103060));

  const WalkResult walk = ref.WalkOf(kPaeGva);
  ASSERT_EQ(walk.status, Status::kOk);
  ASSERT_EQ(walk.levels.size(), 3u);
  ExpectLevel(walk, 0, 3, 0x103078);
  EXPECT_TRUE(walk.levels[0].from_register);
  EXPECT_EQ(walk.levels[0].value, 0x104001u);
  ExpectLevel(walk, 1, 2, 0x104048);
  EXPECT_FALSE(walk.levels[1].from_register);
  ExpectLevel(walk, 2, 1, 0x1051A0);
  EXPECT_EQ(walk.gpa, 0x108567u);
  EXPECT_EQ(walk.page_size, 0x1000u);
  // The PDPTE has R/W=U/S=A=0 (they are reserved there) and takes no part.
  EXPECT_TRUE(walk.writable);
  EXPECT_TRUE(walk.user);
  EXPECT_TRUE(walk.all_accessed);
  EXPECT_FALSE(walk.dirty);
}

// A 2 MB PDE at 0x00600000 with PAT (bit 12) set:
// gpa = 0x00600000 + 0x034567 = 0x00634567.
TEST(WalkPae, TwoMegabytePage) {
  GuestMemory memory(TwoSlots());
  Put64(memory, 0x103078, 0x104000 | kP);
  Put64(memory, 0x104048, 0x601000 | kP | kW | kU | kPs);
  Reference ref(memory, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(0x103060));

  const WalkResult walk = ref.WalkOf(kPaeGva);
  ASSERT_EQ(walk.status, Status::kOk);
  ASSERT_EQ(walk.levels.size(), 2u);
  ExpectLevel(walk, 1, 2, 0x104048);
  EXPECT_EQ(walk.gpa, 0x634567u);
  EXPECT_EQ(walk.page_size, 0x200000u);
}

// A PAE PDE may point above 4 GB: bits 35:12 are address bits.
// PDE -> PT at 0xF_00105000: PTE at 0xF_00105000 + 0x1A0, outside RAM.
TEST(WalkPae, TableAbove4GigabytesIsReadAsMmio) {
  GuestMemory memory(TwoSlots());
  Put64(memory, 0x103078, 0x104000 | kP);
  Put64(memory, 0x104048, 0xF00105000 | kP | kW | kU);
  Reference ref(memory, MakeSetup(PAGING_PAE));
  ASSERT_TRUE(ref.LoadCr3(0x103060));

  const WalkResult walk = ref.WalkOf(kPaeGva);
  EXPECT_EQ(walk.status, Status::kNotPresent);
  ExpectLevel(walk, 2, 1, 0xF001051A0);
}

// 4-level paging, gva 0x7FAB_CDEF1234:
//   PML4 index = gva[47:39] = 0x0FF, PDPT index = gva[38:30] = 0x0AF,
//   PD index = gva[29:21] = 0x06F, PT index = gva[20:12] = 0x0F1,
//   2 MB offset gva[20:0] = 0x0F1234, 1 GB offset gva[29:0] = 0x0DEF1234.
//   CR3 = 0x103000: PML4E at 0x103000 + 8 * 0x0FF = 0x1037F8.
//   PDPT at 0x104000: PDPTE at 0x104000 + 8 * 0x0AF = 0x104578.
//   PD at 0x105000: PDE at 0x105000 + 8 * 0x06F = 0x105378.
//   PT at 0x106000: PTE at 0x106000 + 8 * 0x0F1 = 0x106788.
constexpr uint64_t k4LevelGva = 0x7FABCDEF1234;

void Build4LevelUpperTables(GuestMemory& memory) {
  Put64(memory, 0x1037F8, 0x104000 | kP | kW | kU | kA);
  Put64(memory, 0x104578, 0x105000 | kP | kW | kU | kA);
}

TEST(Walk4Level, FourKilobytePage) {
  GuestMemory memory(TwoSlots());
  Build4LevelUpperTables(memory);
  Put64(memory, 0x105378, 0x106000 | kP | kW | kU | kA);
  Put64(memory, 0x106788, kNx | 0x109000 | kP | kW | kA);
  Reference ref(memory, MakeSetup(PAGING_4LEVEL, false, false, true));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(k4LevelGva);
  ASSERT_EQ(walk.status, Status::kOk);
  ASSERT_EQ(walk.levels.size(), 4u);
  ExpectLevel(walk, 0, 4, 0x1037F8);
  ExpectLevel(walk, 1, 3, 0x104578);
  ExpectLevel(walk, 2, 2, 0x105378);
  ExpectLevel(walk, 3, 1, 0x106788);
  EXPECT_EQ(walk.gpa, 0x109234u);
  EXPECT_EQ(walk.page_size, 0x1000u);
  EXPECT_TRUE(walk.writable);
  EXPECT_FALSE(walk.user);
  EXPECT_TRUE(walk.nx);
}

// A 2 MB PDE at 0x00E00000: gpa = 0x00E00000 + 0x0F1234 = 0x00EF1234.
TEST(Walk4Level, TwoMegabytePage) {
  GuestMemory memory(TwoSlots());
  Build4LevelUpperTables(memory);
  Put64(memory, 0x105378, 0xE00000 | kP | kW | kU | kA | kD | kPs);
  Reference ref(memory, MakeSetup(PAGING_4LEVEL));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(k4LevelGva);
  ASSERT_EQ(walk.status, Status::kOk);
  ASSERT_EQ(walk.levels.size(), 3u);
  ExpectLevel(walk, 2, 2, 0x105378);
  EXPECT_EQ(walk.gpa, 0xEF1234u);
  EXPECT_EQ(walk.page_size, 0x200000u);
  EXPECT_TRUE(walk.dirty);
}

// A 1 GB PDPTE at 0x8_40000000: gpa = 0x8_40000000 + 0x0DEF1234.
TEST(Walk4Level, OneGigabytePage) {
  GuestMemory memory(TwoSlots());
  Put64(memory, 0x1037F8, 0x104000 | kP | kW | kU | kA);
  Put64(memory, 0x104578, 0x840000000 | kP | kW | kU | kPs);
  Reference ref(memory, MakeSetup(PAGING_4LEVEL, false, false, false,
                                  /*gbpages=*/true));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(k4LevelGva);
  ASSERT_EQ(walk.status, Status::kOk);
  ASSERT_EQ(walk.levels.size(), 2u);
  ExpectLevel(walk, 1, 3, 0x104578);
  EXPECT_EQ(walk.gpa, 0x84DEF1234u);
  EXPECT_EQ(walk.page_size, 0x40000000u);
  EXPECT_FALSE(walk.all_accessed);
}

// Without 1 GB pages, PS in a PDPTE is a reserved bit.
TEST(Walk4Level, OneGigabytePageWithoutGbpagesIsReserved) {
  GuestMemory memory(TwoSlots());
  Put64(memory, 0x1037F8, 0x104000 | kP | kW | kU | kA);
  Put64(memory, 0x104578, 0x840000000 | kP | kW | kU | kPs);
  Reference ref(memory, MakeSetup(PAGING_4LEVEL));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(k4LevelGva);
  EXPECT_EQ(walk.status, Status::kReserved);
  EXPECT_EQ(walk.fault_level, 3);
  EXPECT_EQ(walk.levels.size(), 2u);
}

// The upper half: gva 0xFFFF8000_00001000 has PML4 index gva[47:39] = 0x100,
// the other indexes 0, 0 and 1: PML4E at 0x103000 + 8 * 0x100 = 0x103800,
// PDPTE at 0x104000, PDE at 0x105000, PTE at 0x106000 + 8 = 0x106008.
TEST(Walk4Level, UpperHalfAddress) {
  GuestMemory memory(TwoSlots());
  Put64(memory, 0x103800, 0x104000 | kP | kW);
  Put64(memory, 0x104000, 0x105000 | kP | kW);
  Put64(memory, 0x105000, 0x106000 | kP | kW);
  Put64(memory, 0x106008, 0x10A000 | kP);
  Reference ref(memory, MakeSetup(PAGING_4LEVEL));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(0xFFFF800000001000);
  ASSERT_EQ(walk.status, Status::kOk);
  ExpectLevel(walk, 0, 4, 0x103800);
  ExpectLevel(walk, 1, 3, 0x104000);
  ExpectLevel(walk, 2, 2, 0x105000);
  ExpectLevel(walk, 3, 1, 0x106008);
  EXPECT_EQ(walk.gpa, 0x10A000u);
}

// CR3's low bits (PWT, PCD, ignored bits) do not move the PML4 table.
TEST(Walk4Level, Cr3LowBitsIgnored) {
  GuestMemory memory(TwoSlots());
  Reference ref(memory, MakeSetup(PAGING_4LEVEL));
  ASSERT_TRUE(ref.LoadCr3(0x103FFF));
  const WalkResult walk = ref.WalkOf(k4LevelGva);
  EXPECT_EQ(walk.status, Status::kNotPresent);
  EXPECT_EQ(walk.fault_level, 4);
  ExpectLevel(walk, 0, 4, 0x1037F8);
}

// A not-present entry ends the walk and is the last level reported.
TEST(Walk4Level, NotPresentEndsTheWalk) {
  GuestMemory memory(TwoSlots());
  Build4LevelUpperTables(memory);
  // P=0 but every other bit set, reserved ones included: still not present.
  Put64(memory, 0x105378, ~uint64_t{1});
  Reference ref(memory, MakeSetup(PAGING_4LEVEL));
  ASSERT_TRUE(ref.LoadCr3(0x103000));

  const WalkResult walk = ref.WalkOf(k4LevelGva);
  EXPECT_EQ(walk.status, Status::kNotPresent);
  EXPECT_EQ(walk.fault_level, 2);
  ASSERT_EQ(walk.levels.size(), 3u);
  EXPECT_EQ(walk.levels[2].value, ~uint64_t{1});
}

}  // namespace
}  // namespace shadowdiff::model
