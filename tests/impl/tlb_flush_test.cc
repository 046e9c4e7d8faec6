// The batches of host TLB flushes, and the deferred-flush mode's owed ones:
// what moves where when the guest invalidates part of its address space.
#include "impl/tlb_flush.h"

#include "gtest/gtest.h"

namespace shadowdiff::impl {
namespace {

TEST(TlbFlushBatchTest, MovesOnlyThePagesOfTheRange) {
  TlbFlushBatch owed;
  owed.Add(0x400000);
  owed.Add(0x401000);
  owed.Add(0x600000);
  TlbFlushBatch due;
  owed.MoveInto(due, 0x400000, 0x200000);  // the 2 MB page at 0x400000
  EXPECT_FALSE(due.empty());
  EXPECT_FALSE(due.all());
  EXPECT_FALSE(owed.empty()) << "0x600000 lies outside the range";
  TlbFlushBatch rest;
  owed.MoveInto(rest, 0x600000, 0x1000);
  EXPECT_TRUE(owed.empty());
  EXPECT_FALSE(rest.empty());
}

TEST(TlbFlushBatchTest, AFullFlushOwedIsDueWholeForAnyRange) {
  TlbFlushBatch owed;
  owed.AddAll();
  TlbFlushBatch due;
  owed.MoveInto(due, 0x400000, 0x1000);
  EXPECT_TRUE(due.all());
  EXPECT_TRUE(owed.empty());
}

TEST(TlbFlushBatchTest, MoveAllIntoEmptiesTheBatch) {
  TlbFlushBatch owed;
  for (uint64_t gva = 0; gva < 4 * 0x1000; gva += 0x1000) owed.Add(gva);
  TlbFlushBatch due;
  owed.MoveAllInto(due);
  EXPECT_TRUE(owed.empty());
  EXPECT_FALSE(due.empty());
  EXPECT_FALSE(due.all());
}

TEST(TlbFlushBatchTest, TooManyPagesBecomeOneFullFlush) {
  TlbFlushBatch batch;
  for (uint64_t i = 0; i <= TlbFlushBatch::kMaxSingleFlushes; ++i) {
    batch.Add(i * 0x1000);
  }
  EXPECT_TRUE(batch.all());
}

}  // namespace
}  // namespace shadowdiff::impl
