#include "impl/write_emulation.h"

#include <optional>

#include "gtest/gtest.h"
#include "host/guest_state.h"
#include "impl/bug_switches.h"
#include "impl/role.h"

namespace shadowdiff::impl {
namespace {

Role Role32(int level, int quadrant) {
  host::GuestControls c;
  c.mode = host::GuestMode::k32Bit;
  Role role = BaseRole(c, {});
  role.level = static_cast<uint8_t>(level);
  role.quadrant = static_cast<uint8_t>(quadrant);
  return role;
}

BugSet With(Bug bug) {
  BugSet bugs;
  bugs.Add(bug);
  return bugs;
}

TEST(WrittenSptesTest, PdeOfA32BitGuestIsTwoShadowPdes) {
  // PDE 300 maps 0x4b000000..0x4b3fffff: GB 1, shadow PDEs
  // (0x4b000000 >> 21) % 512 = 600 % 512 = 88 and 89.
  EXPECT_EQ(WrittenSptes(Role32(2, 1), 300, {}), (SpteSpan{88, 2}));
  EXPECT_EQ(WrittenSptes(Role32(2, 0), 300, {}), std::nullopt);
  EXPECT_EQ(WrittenSptes(Role32(2, 2), 300, {}), std::nullopt);
  // The first and last PDE of each GB.
  EXPECT_EQ(WrittenSptes(Role32(2, 0), 0, {}), (SpteSpan{0, 2}));
  EXPECT_EQ(WrittenSptes(Role32(2, 0), 255, {}), (SpteSpan{510, 2}));
  EXPECT_EQ(WrittenSptes(Role32(2, 1), 256, {}), (SpteSpan{0, 2}));
  EXPECT_EQ(WrittenSptes(Role32(2, 3), 1023, {}), (SpteSpan{510, 2}));
}

TEST(WrittenSptesTest, PteOfA32BitGuestIsInOneHalf) {
  // PTE 700 maps offset 700 * 4 KB = 2.73 MB of the PT's 4 MB: the upper
  // half, shadow PTE 700 - 512 = 188.
  EXPECT_EQ(WrittenSptes(Role32(1, 1), 700, {}), (SpteSpan{188, 1}));
  EXPECT_EQ(WrittenSptes(Role32(1, 0), 700, {}), std::nullopt);
  EXPECT_EQ(WrittenSptes(Role32(1, 0), 511, {}), (SpteSpan{511, 1}));
  EXPECT_EQ(WrittenSptes(Role32(1, 1), 512, {}), (SpteSpan{0, 1}));
}

TEST(WrittenSptesTest, SixtyFourBitEntriesMapOneToOne) {
  Role role = Role32(2, 0);
  role.guest_levels = 3;
  EXPECT_EQ(WrittenSptes(role, 300, {}), (SpteSpan{300, 1}));
  role.level = 1;
  role.guest_levels = 4;
  EXPECT_EQ(WrittenSptes(role, 511, {}), (SpteSpan{511, 1}));
}

TEST(WrittenSptesTest, NonpaePdeSingleZapTakesTheEightByteOffset) {
  // The 2007 bug: PDE i as if it were a 64-bit entry: index i % 512 of the
  // quadrant i / 512 page, one spte.
  const BugSet bugs = With(Bug::kNonpaePdeSingleZap);
  EXPECT_EQ(WrittenSptes(Role32(2, 1), 300, bugs), std::nullopt);
  EXPECT_EQ(WrittenSptes(Role32(2, 0), 300, bugs), (SpteSpan{300, 1}));
  // PT writes are unaffected.
  EXPECT_EQ(WrittenSptes(Role32(1, 1), 700, bugs), (SpteSpan{188, 1}));
}

TEST(WrittenSptesTest, QuadrantIgnoredHitsBothHalves) {
  const BugSet bugs = With(Bug::kQuadrantIgnored);
  EXPECT_EQ(WrittenSptes(Role32(1, 0), 5, bugs), (SpteSpan{5, 1}));
  EXPECT_EQ(WrittenSptes(Role32(1, 1), 5, bugs), (SpteSpan{5, 1}));
}

}  // namespace
}  // namespace shadowdiff::impl
