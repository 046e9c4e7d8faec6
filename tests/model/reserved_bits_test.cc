// Reserved-bit masks (SDM 4.3, 4.4.1, 4.4.2, 4.5 with MAXPHYADDR 36), written
// out as literals from the SDM's entry-format tables.
#include "model/reserved_bits.h"

#include <cstdint>

#include "gtest/gtest.h"
#include "tests/model/guest_builder.h"

namespace shadowdiff::model {
namespace {

using namespace ::shadowdiff::model::testing;

PagingState State(PagingMode mode, bool cr4_pse, bool efer_nxe, bool gbpages) {
  PagingState state;
  state.mode = mode;
  state.cr4_pse = cr4_pse;
  state.efer_nxe = efer_nxe;
  state.gbpages = gbpages;
  return state;
}

TEST(ReservedBits, ThirtyTwoBit) {
  const PagingState pse = State(PAGING_32BIT, true, false, false);
  const PagingState no_pse = State(PAGING_32BIT, false, false, false);
  // Table 4-4: a 4 MB PDE reserves 21:17 (16:13 are gpa bits 35:32).
  EXPECT_EQ(ReservedBits(pse, 2, kP | kPs), 0x003E0000u);
  EXPECT_EQ(ReservedBits(pse, 2, kP), 0u);
  EXPECT_EQ(ReservedBits(pse, 1, kP | kPs), 0u);
  // CR4.PSE=0: PS is ignored, nothing is reserved.
  EXPECT_EQ(ReservedBits(no_pse, 2, kP | kPs), 0u);
}

TEST(ReservedBits, Pae) {
  const PagingState nx = State(PAGING_PAE, false, true, false);
  const PagingState no_nx = State(PAGING_PAE, true, false, false);
  // Table 4-8: PDPTE 63:36, 8:5, 2:1, with or without NXE.
  EXPECT_EQ(ReservedBits(nx, 3, kP), 0xFFFFFFF0000001E6u);
  EXPECT_EQ(ReservedBits(no_nx, 3, kP), 0xFFFFFFF0000001E6u);
  EXPECT_EQ(PaePdpteReservedBits(), 0xFFFFFFF0000001E6u);
  // Tables 4-9..4-11: 62:36, 63 without NXE, 20:13 in a 2 MB PDE.
  EXPECT_EQ(ReservedBits(nx, 2, kP | kPs), 0x7FFFFFF0001FE000u);
  EXPECT_EQ(ReservedBits(no_nx, 2, kP | kPs), 0xFFFFFFF0001FE000u);
  EXPECT_EQ(ReservedBits(nx, 2, kP), 0x7FFFFFF000000000u);
  EXPECT_EQ(ReservedBits(nx, 1, kP | kPs), 0x7FFFFFF000000000u);
  EXPECT_EQ(ReservedBits(no_nx, 1, kP), 0xFFFFFFF000000000u);
}

TEST(ReservedBits, FourLevel) {
  const PagingState nx = State(PAGING_4LEVEL, false, true, false);
  const PagingState nx_gb = State(PAGING_4LEVEL, false, true, true);
  const PagingState no_nx = State(PAGING_4LEVEL, false, false, true);
  // Table 4-14: PML4E 51:36 and PS.
  EXPECT_EQ(ReservedBits(nx, 4, kP), 0x000FFFF000000080u);
  EXPECT_EQ(ReservedBits(no_nx, 4, kP), 0x800FFFF000000080u);
  // Tables 4-15, 4-16: a 1 GB PDPTE reserves 29:13; without 1 GB pages PS
  // itself is reserved.
  EXPECT_EQ(ReservedBits(nx_gb, 3, kP | kPs), 0x000FFFF03FFFE000u);
  EXPECT_EQ(ReservedBits(nx, 3, kP | kPs), 0x000FFFF000000080u);
  EXPECT_EQ(ReservedBits(nx, 3, kP), 0x000FFFF000000000u);
  // Tables 4-17..4-19.
  EXPECT_EQ(ReservedBits(nx, 2, kP | kPs), 0x000FFFF0001FE000u);
  EXPECT_EQ(ReservedBits(nx, 2, kP), 0x000FFFF000000000u);
  EXPECT_EQ(ReservedBits(no_nx, 1, kP | kPs), 0x800FFFF000000000u);
}

}  // namespace
}  // namespace shadowdiff::model
