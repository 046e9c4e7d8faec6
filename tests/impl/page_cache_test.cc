#include "impl/page_cache.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/guest_state.h"
#include "impl/rmap.h"
#include "impl/role.h"
#include "impl/shadow_page.h"

namespace shadowdiff::impl {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Role Base() {
  host::GuestControls controls;
  controls.mode = host::GuestMode::k4Level;
  return BaseRole(controls, {});
}

TEST(PageCacheTest, FindsByGfnRoleAndFrame) {
  PageCache cache;
  const Role pt = IndirectRole(Base(), 1, 0, kAccessAll);
  const Role read_only_pt = IndirectRole(Base(), 1, 0, kAccessUser);
  ShadowPage* a = cache.Insert(std::make_unique<ShadowPage>(0x102, pt, 0x5000));
  ShadowPage* b =
      cache.Insert(std::make_unique<ShadowPage>(0x102, read_only_pt, 0x5001));
  EXPECT_EQ(cache.Find(0x102, pt), a);
  EXPECT_EQ(cache.Find(0x102, read_only_pt), b);
  EXPECT_EQ(cache.Find(0x103, pt), nullptr);
  EXPECT_EQ(cache.AtFrame(0x5001), b);
  EXPECT_EQ(a->SpteHpa(3), 0x5000018u);
  EXPECT_EQ(SpteIndex(a->SpteHpa(3)), 3);
  EXPECT_THAT(cache.IndirectPagesOf(0x102), ElementsAre(a, b));
}

TEST(PageCacheTest, OnlyIndirectPagesMakeATable) {
  PageCache cache;
  ShadowPage* direct = cache.Insert(std::make_unique<ShadowPage>(
      0x200, DirectRole(Base(), 1, kAccessAll), 0x6000));
  EXPECT_FALSE(cache.IsShadowedTable(0x200));
  EXPECT_EQ(direct->LeafGfn(7), 0x207u);
  ShadowPage* table = cache.Insert(std::make_unique<ShadowPage>(
      0x200, IndirectRole(Base(), 1, 0, kAccessAll), 0x6001));
  EXPECT_TRUE(cache.IsShadowedTable(0x200));
  cache.Remove(table);
  EXPECT_FALSE(cache.IsShadowedTable(0x200));
  EXPECT_THAT(cache.IndirectPagesOf(0x200), IsEmpty());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_THAT(cache.All(), ElementsAre(direct));
}

TEST(RmapTest, TracksEverySpteOfAGfn) {
  Rmap rmap;
  rmap.Add(0x110, 0x5008);
  rmap.Add(0x110, 0x6010);
  rmap.Add(0x111, 0x5010);
  EXPECT_THAT(rmap.Sptes(0x110), ElementsAre(0x5008u, 0x6010u));
  rmap.Remove(0x110, 0x5008);
  EXPECT_THAT(rmap.Sptes(0x110), ElementsAre(0x6010u));
  rmap.Remove(0x110, 0x6010);
  EXPECT_THAT(rmap.Sptes(0x110), IsEmpty());
  EXPECT_THAT(rmap.Sptes(0x111), ElementsAre(0x5010u));
}

}  // namespace
}  // namespace shadowdiff::impl
