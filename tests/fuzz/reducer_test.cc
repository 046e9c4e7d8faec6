#include "fuzz/reducer.h"

#include "fuzz/case_file.h"
#include "fuzz/runner.h"
#include "gtest/gtest.h"
#include "proto/normalize.h"
#include "tests/fuzz/reference_backed_mmu.h"

namespace shadowdiff {
namespace {

using Flaw = testing::ReferenceBackedMmu::Flaw;

// A 4-level guest whose PT (gfn 4) maps gva 0x10000 -> gfn 0x10 and
// 0x11000 -> gfn 0x11; the double under test keeps its mappings when a guest
// table is written. Only two ops matter: the load that maps 0x10000 and the
// PTE rewrite that leaves that mapping stale. Everything else is padding.
constexpr char kPadded[] = R"pb(
  setup {
    mode: PAGING_4LEVEL
    cr0_wp: true
    efer_nxe: true
    slots { base_gfn: 0 pages: 64 host_frame: 0x1000000 }
    cr3 { gfn: 1 }
    entries { table_gfn: 1 index: 0 raw: 0x2007 }
    entries { table_gfn: 2 index: 0 raw: 0x3007 }
    entries { table_gfn: 3 index: 0 raw: 0x4007 }
    entries { table_gfn: 4 index: 0x10 raw: 0x10067 }
    entries { table_gfn: 4 index: 0x11 raw: 0x11067 }
    bytes { gpa: 0x20000 length: 8 value: 0x1234 }
  }
  ops { load { gva: 0x11000 width: 8 user: true } }
  ops { store { gva: 0x11008 width: 4 value: 7 } }
  ops { invlpg { gva: 0x11000 } }
  ops { fetch { gva: 0x11000 } }
  ops { load { gva: 0x10000 width: 8 user: true } }
  ops { phys_write { gpa: 0x30000 length: 2 value: 0xffff } }
  ops { write_entry { table_gfn: 4 index: 0x10 raw: 0x12067 } }
  ops { load { gva: 0x11000 width: 2 } }
)pb";

TEST(Reducer, KeepsOnlyWhatTheDivergenceNeeds) {
  absl::StatusOr<Case> c = ParseTextCase(kPadded, "padded");
  ASSERT_TRUE(c.ok()) << c.status();
  Normalize(*c);
  auto run = [](const Case& candidate) {
    testing::ReferenceBackedMmu mmu(Flaw::kKeepsMappingsOnTableWrite);
    return Runner().Run(candidate, mmu).divergence;
  };
  const std::optional<Divergence> original = run(*c);
  ASSERT_TRUE(original.has_value());
  ASSERT_EQ(original->kind, DivergenceKind::kMapping);

  ReduceStats stats;
  const Case reduced = Reducer(run).Reduce(*c, &stats);
  EXPECT_EQ(stats.ops_before, 8);
  // The load of 0x10000 and the rewrite of its PTE.
  ASSERT_EQ(reduced.ops_size(), 2);
  EXPECT_EQ(reduced.ops(0).load().gva(), 0x10000u);
  EXPECT_FALSE(reduced.ops(0).load().user());  // simplified to supervisor
  EXPECT_EQ(reduced.ops(0).load().width(), 1u);
  EXPECT_TRUE(reduced.ops(1).has_write_entry());
  // The PML4E, PDPTE, PDE and the PTE of 0x10000 stay; the rest goes.
  EXPECT_EQ(stats.setup_writes_after, 4);
  const std::optional<Divergence> after = run(reduced);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->kind, DivergenceKind::kMapping);
  EXPECT_EQ(after->op_index, 1);
}

}  // namespace
}  // namespace shadowdiff
