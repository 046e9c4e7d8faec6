#include "host/host_tlb.h"

#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/guest_state.h"

namespace shadowdiff::host {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr HostTlbEntry kClean4K = {.gva = 0x5000,
                                   .page_size = 0x1000,
                                   .hpa = 0x9000,
                                   .writable = true,
                                   .user = true};
constexpr HostTlbEntry kDirty2M = {.gva = 0x200000,
                                   .page_size = 0x200000,
                                   .hpa = 0x40000000,
                                   .writable = true,
                                   .dirty = true};
constexpr HostTlbEntry kDirty4KIn2M = {.gva = 0x203000,
                                       .page_size = 0x1000,
                                       .hpa = 0x7000,
                                       .writable = true,
                                       .user = true,
                                       .dirty = true};

TEST(HostTlbTest, HitsAnywhereInThePage) {
  HostTlb tlb;
  tlb.Fill(0x5ABC, kClean4K);
  EXPECT_THAT(tlb.Lookup(0x5000, AccessKind::kRead), Optional(kClean4K));
  EXPECT_THAT(tlb.Lookup(0x5FFF, AccessKind::kFetch), Optional(kClean4K));
  EXPECT_EQ(tlb.Lookup(0x6000, AccessKind::kRead), std::nullopt);
  EXPECT_EQ(tlb.Lookup(0x4FFF, AccessKind::kRead), std::nullopt);
}

TEST(HostTlbTest, WriteThroughCleanEntryMisses) {
  HostTlb tlb;
  tlb.Fill(0x5000, kClean4K);
  EXPECT_EQ(tlb.Lookup(0x5008, AccessKind::kWrite), std::nullopt);
  tlb.Fill(0x200000, kDirty2M);
  EXPECT_THAT(tlb.Lookup(0x3FFFF8, AccessKind::kWrite), Optional(kDirty2M));
}

TEST(HostTlbTest, SmallestPageWinsWhereEntriesOverlap) {
  HostTlb tlb;
  // In this order: filling the 2 MB page by a walk of 0x203xxx would have
  // superseded the 4 KB entry.
  tlb.Fill(0x203000, kDirty4KIn2M);
  tlb.Fill(0x200000, kDirty2M);
  EXPECT_THAT(tlb.Lookup(0x203123, AccessKind::kRead), Optional(kDirty4KIn2M));
  EXPECT_THAT(tlb.Lookup(0x204000, AccessKind::kRead), Optional(kDirty2M));
}

TEST(HostTlbTest, FlushDropsEveryPageContainingTheGva) {
  HostTlb tlb;
  // In this order: filling the 2 MB page by a walk of 0x203xxx would have
  // superseded the 4 KB entry.
  tlb.Fill(0x203000, kDirty4KIn2M);
  tlb.Fill(0x200000, kDirty2M);
  tlb.Fill(0x5000, kClean4K);
  tlb.Flush(0x203FFF);
  EXPECT_EQ(tlb.Lookup(0x204000, AccessKind::kRead), std::nullopt);
  EXPECT_THAT(tlb.Entries(), ElementsAre(kClean4K));
}

TEST(HostTlbTest, FlushOfAnotherPageKeepsTheEntry) {
  HostTlb tlb;
  tlb.Fill(0x5000, kClean4K);
  tlb.Flush(0x6000);
  tlb.Flush(0x4000);
  EXPECT_THAT(tlb.Entries(), ElementsAre(kClean4K));
}

TEST(HostTlbTest, FillSupersedesEntriesForTheWalkedGvaOnly) {
  HostTlb tlb;
  tlb.Fill(0x203000, kDirty4KIn2M);
  const HostTlbEntry neighbour = {0x201000, 0x1000, 0x8000, false,
                                  false,    true,   false};
  tlb.Fill(0x201000, neighbour);
  // A walk of 0x203456 now finds a 2 MB page: the 4 KB entry for that gva
  // goes, its neighbour stays (still stale, as on hardware).
  tlb.Fill(0x203456, kDirty2M);
  EXPECT_THAT(tlb.Entries(), ElementsAre(kDirty2M, neighbour));
  EXPECT_THAT(tlb.Lookup(0x203456, AccessKind::kRead), Optional(kDirty2M));
}

TEST(HostTlbTest, OneGigabyteEntries) {
  HostTlb tlb;
  const HostTlbEntry gigabyte = {.gva = 0xFFFF800040000000,
                                 .page_size = 0x40000000,
                                 .hpa = 0x80000000,
                                 .writable = true,
                                 .dirty = true};
  tlb.Fill(0xFFFF80007FFFFFFF, gigabyte);
  EXPECT_THAT(tlb.Lookup(0xFFFF800040000000, AccessKind::kWrite),
              Optional(gigabyte));
  EXPECT_EQ(tlb.Lookup(0xFFFF800080000000, AccessKind::kRead), std::nullopt);
  tlb.Flush(0xFFFF800055555000);
  EXPECT_THAT(tlb.Entries(), IsEmpty());
}

TEST(HostTlbTest, FlushAllDropsEverything) {
  HostTlb tlb;
  tlb.Fill(0x200000, kDirty2M);
  tlb.Fill(0x5000, kClean4K);
  tlb.FlushAll();
  EXPECT_THAT(tlb.Entries(), IsEmpty());
  EXPECT_EQ(tlb.Lookup(0x5000, AccessKind::kRead), std::nullopt);
}

TEST(HostTlbTest, EntriesAreOrderedByGvaThenSize) {
  HostTlb tlb;
  tlb.Fill(0x203000, kDirty4KIn2M);
  tlb.Fill(0x200000, kDirty2M);
  tlb.Fill(0x5000, kClean4K);
  EXPECT_THAT(tlb.Entries(), ElementsAre(kClean4K, kDirty2M, kDirty4KIn2M));
}

}  // namespace
}  // namespace shadowdiff::host
