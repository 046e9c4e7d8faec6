#include "impl/role.h"

#include "absl/hash/hash.h"
#include "gtest/gtest.h"
#include "host/guest_state.h"
#include "impl/bug_switches.h"

namespace shadowdiff::impl {
namespace {

host::GuestControls AllOn(host::GuestMode mode) {
  host::GuestControls c;
  c.mode = mode;
  c.cr0_wp = c.cr4_pse = c.efer_nxe = c.gbpages = true;
  return c;
}

TEST(RoleTest, BaseRoleKeepsOnlyWhatChangesHowEntriesRead) {
  // 32-bit entries have no NX bit and no 1 GB pages; PSE decides PDE.PS.
  const Role r32 = BaseRole(AllOn(host::GuestMode::k32Bit), {});
  EXPECT_EQ(r32.guest_levels, 2);
  EXPECT_TRUE(r32.cr0_wp);
  EXPECT_TRUE(r32.cr4_pse);
  EXPECT_FALSE(r32.efer_nxe);
  EXPECT_FALSE(r32.gbpages);
  // PAE and 4-level always allow 2 MB pages: PSE is not in their roles.
  const Role pae = BaseRole(AllOn(host::GuestMode::kPae), {});
  EXPECT_EQ(pae.guest_levels, 3);
  EXPECT_TRUE(pae.efer_nxe);
  EXPECT_FALSE(pae.cr4_pse);
  EXPECT_FALSE(pae.gbpages);
  const Role l4 = BaseRole(AllOn(host::GuestMode::k4Level), {});
  EXPECT_EQ(l4.guest_levels, 4);
  EXPECT_TRUE(l4.efer_nxe);
  EXPECT_TRUE(l4.gbpages);
  EXPECT_FALSE(l4.cr4_pse);
}

TEST(RoleTest, ControlChangesThatMatterChangeTheRole) {
  host::GuestControls c = AllOn(host::GuestMode::k4Level);
  const Role before = BaseRole(c, {});
  c.efer_nxe = false;
  EXPECT_NE(BaseRole(c, {}), before);
  c = AllOn(host::GuestMode::k4Level);
  c.cr0_wp = false;
  EXPECT_NE(BaseRole(c, {}), before);
  c = AllOn(host::GuestMode::k4Level);
  c.cr4_pse = false;
  EXPECT_EQ(BaseRole(c, {}), before);
}

TEST(RoleTest, RoleBugsDropTheirField) {
  BugSet bugs;
  bugs.Add(Bug::kNxeNotInRole);
  bugs.Add(Bug::kWpNotInRole);
  const Role role = BaseRole(AllOn(host::GuestMode::kPae), bugs);
  EXPECT_FALSE(role.efer_nxe);
  EXPECT_FALSE(role.cr0_wp);
}

TEST(RoleTest, QuadrantOf32BitTables) {
  // Guest PT: gva bit 21 picks the 2 MB half.
  EXPECT_EQ(Quadrant(2, 1, 0x00400000), 0);
  EXPECT_EQ(Quadrant(2, 1, 0x00600000), 1);
  EXPECT_EQ(Quadrant(2, 1, 0xFFFFF000), 1);
  // Guest PD: gva bits 31:30 pick the GB. PDE 300 maps 0x4b000000: GB 1.
  EXPECT_EQ(Quadrant(2, 2, 300u << 22), 1);
  EXPECT_EQ(Quadrant(2, 2, 0x3FFFFFFF), 0);
  EXPECT_EQ(Quadrant(2, 2, 0xC0000000), 3);
  // 64-bit tables map one to one.
  EXPECT_EQ(Quadrant(3, 1, 0x00600000), 0);
  EXPECT_EQ(Quadrant(4, 2, 0xC0000000), 0);
}

TEST(RoleTest, IndirectAndDirectRolesAreDistinctKeys) {
  const Role base = BaseRole(AllOn(host::GuestMode::k32Bit), {});
  const Role q0 = IndirectRole(base, 1, 0x00400000, kAccessAll);
  const Role q1 = IndirectRole(base, 1, 0x00600000, kAccessAll);
  const Role read_only = IndirectRole(base, 1, 0x00400000, kAccessUser);
  const Role direct = DirectRole(base, 1, kAccessAll);
  EXPECT_EQ(q0.quadrant, 0);
  EXPECT_EQ(q1.quadrant, 1);
  EXPECT_EQ(read_only.access, kAccessUser);
  EXPECT_TRUE(direct.direct);
  EXPECT_EQ(direct.quadrant, 0);
  EXPECT_NE(q0, q1);
  EXPECT_NE(q0, read_only);
  EXPECT_NE(q0, direct);
  EXPECT_NE(absl::Hash<Role>()(q0), absl::Hash<Role>()(q1));
  EXPECT_EQ(absl::Hash<Role>()(q0),
            absl::Hash<Role>()(IndirectRole(base, 1, 0x00400000, kAccessAll)));
}

}  // namespace
}  // namespace shadowdiff::impl
