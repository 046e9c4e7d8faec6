#include "fuzz/case_scan.h"

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/normalize.h"

namespace shadowdiff {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

MATCHER_P2(WritablePageIs, gva, gfn, "") {
  return arg.gva == gva && arg.gfn == gfn;
}
MATCHER_P2(AliasIs, gva, table_gfn, "") {
  return arg.gva == gva && arg.table_gfn == table_gfn;
}

// 32-bit: PD 0x101; PDE[0] -> PT 0x102 (writable), PDE[1] -> PT 0x103 (read
// only). gva 0x1000 -> data frame 0x110, gva 0x2000 -> PT 0x102 itself,
// gva 0x400000 -> 0x111 through the read-only PDE, gva 0x3000 not present.
constexpr char kCase[] = R"pb(
  setup {
    mode: PAGING_32BIT
    cr0_wp: true
    slots { base_gfn: 0x100 pages: 0x100 host_frame: 0x1000000 }
    cr3 { gfn: 0x101 }
    entries {
      table_gfn: 0x101
      index: 0
      bits { present: true writable: true user: true target_gfn: 0x102 }
    }
    entries {
      table_gfn: 0x101
      index: 1
      bits { present: true user: true target_gfn: 0x103 }
    }
    entries {
      table_gfn: 0x102
      index: 1
      bits { present: true writable: true user: true target_gfn: 0x110 }
    }
    entries {
      table_gfn: 0x102
      index: 2
      bits { present: true writable: true user: true target_gfn: 0x102 }
    }
    entries {
      table_gfn: 0x103
      index: 0
      bits { present: true writable: true user: true target_gfn: 0x111 }
    }
  }
  ops { load { gva: 0x1004 width: 4 } }
  ops { load { gva: 0x2000 width: 4 } }
  ops { store { gva: 0x400000 width: 4 value: 1 } }
  ops { load { gva: 0x3000 width: 4 } }
)pb";

Case Parsed() {
  Case c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kCase, &c));
  Normalize(c);
  return c;
}

TEST(CaseScan, FindsWhatTheCaseTouches) {
  const CaseScan scan = ScanCase(Parsed(), 4);
  EXPECT_THAT(scan.gvas, ElementsAre(0x1000, 0x2000, 0x400000, 0x3000));
  EXPECT_THAT(scan.cr3s, ElementsAre(0x101000));
  EXPECT_THAT(scan.table_gfns, UnorderedElementsAre(0x101, 0x102, 0x103));
  EXPECT_THAT(scan.leaf_gfns, UnorderedElementsAre(0x110, 0x102, 0x111));
}

TEST(CaseScan, WritablePagesAreDataFramesWritableAtEveryLevel) {
  // Not 0x2000 (it maps a table), not 0x400000 (its PDE is read-only), not
  // 0x3000 (not present).
  EXPECT_THAT(ScanCase(Parsed(), 4).writable_pages,
              ElementsAre(WritablePageIs(0x1000u, 0x110u)));
}

TEST(CaseScan, AliasesAreGvasThatMapALiveTable) {
  EXPECT_THAT(ScanCase(Parsed(), 4).aliases,
              ElementsAre(AliasIs(0x2000u, 0x102u)));
}

TEST(CaseScan, SeesTheStateBeforeTheOp) {
  Case c = Parsed();
  // Before op 1 runs, an op 0 that unmaps gva 0x1000 changes nothing.
  Op unmap;
  unmap.mutable_write_entry()->set_table_gfn(0x102);
  unmap.mutable_write_entry()->set_index(1);
  unmap.mutable_write_entry()->set_raw(0);
  *c.mutable_ops()->Add() = unmap;
  c.mutable_ops()->SwapElements(0, 4);
  Normalize(c);
  EXPECT_THAT(ScanCase(c, 0).writable_pages,
              ElementsAre(WritablePageIs(0x1000u, 0x110u)));
  EXPECT_THAT(ScanCase(c, 1).writable_pages, ::testing::IsEmpty());
}

// PAE: the PDPT at gpa 0x101020 (CR3), PDPTE[0] -> PD 0x102, PDE[0] -> PT
// 0x103, PTE[1] -> 0x110. Op 0 rewrites PDPTE[0] in memory, without a CR3
// load: the walk still goes through the old register.
constexpr char kPaeCase[] = R"pb(
  setup {
    mode: PAGING_PAE
    slots { base_gfn: 0x100 pages: 0x100 host_frame: 0x1000000 }
    cr3 { gfn: 0x101 low_bits: 0x20 }
    entries { table_gfn: 0x101 index: 4 raw: 0x102001 }
    entries { table_gfn: 0x102 index: 0 raw: 0x103007 }
    entries { table_gfn: 0x103 index: 1 raw: 0x110007 }
  }
  ops { write_entry { table_gfn: 0x101 index: 4 raw: 0x104001 } }
  ops { load { gva: 0x1000 width: 4 } }
)pb";

MATCHER_P3(EntryIs, gpa, value, level, "") {
  return arg.gpa == gpa && arg.value == value && arg.level == level;
}

TEST(CaseScan, PaePdptesAreAimedAtInMemory) {
  Case c;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kPaeCase, &c));
  Normalize(c);
  const CaseScan scan = ScanCase(c, 1);
  // The value is memory's, 0x104001; the register still holds 0x102001.
  EXPECT_THAT(scan.entries, ElementsAre(EntryIs(0x101020u, 0x104001u, 3),
                                        EntryIs(0x102000u, 0x103007u, 2),
                                        EntryIs(0x103008u, 0x110007u, 1)));
  EXPECT_THAT(scan.table_gfns, UnorderedElementsAre(0x101, 0x102, 0x103));
}

}  // namespace
}  // namespace shadowdiff
