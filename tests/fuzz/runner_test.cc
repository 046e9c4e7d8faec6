#include "fuzz/runner.h"

#include "fuzz/case_file.h"
#include "gtest/gtest.h"
#include "proto/normalize.h"
#include "tests/fuzz/reference_backed_mmu.h"

namespace shadowdiff {
namespace {

Case Parse(const char* text) {
  absl::StatusOr<Case> c = ParseTextCase(text, "test");
  EXPECT_TRUE(c.ok()) << c.status();
  Normalize(*c);
  return *c;
}

TEST(Runner, CaseWithoutMemoryRunsNothing) {
  const Case c = Parse("ops { load { gva: 0x1000 width: 4 } }");
  testing::ReferenceBackedMmu mmu;
  const RunResult result = Runner(c, mmu).Run();
  EXPECT_FALSE(result.divergence);
  EXPECT_EQ(result.ops_run, 0);
}

// 32-bit guest: PD at gfn 1, PDE 1 maps a 4 MB page at gpa 0x400000 (CR4.PSE);
// PDE 0 points to the PT at gfn 2 whose entry 5 maps gfn 7. Two address spaces:
// CR3 gfn 1 and gfn 3, the latter with PDE 0 -> the same PT.
constexpr char kTwoSpaces[] = R"pb(
  setup {
    mode: PAGING_32BIT
    cr4_pse: true
    slots { base_gfn: 0 pages: 16 host_frame: 0x2000000 }
    slots { base_gfn: 0x400 pages: 4 host_frame: 0x3000000 }
    cr3 { gfn: 1 }
    entries { table_gfn: 1 index: 0 raw: 0x2007 }
    entries { table_gfn: 1 index: 1 raw: 0x400087 }
    entries { table_gfn: 2 index: 5 raw: 0x7007 }
    entries { table_gfn: 3 index: 0 raw: 0x2007 }
  }
  ops { store { gva: 0x5010 width: 4 value: 0xabcd user: true } }
  ops { load { gva: 0x401000 width: 8 } }
  ops { load { gva: 0x404000 width: 8 } }
  ops { load_cr3 { gfn: 3 } }
  ops { load { gva: 0x5010 width: 4 user: true } }
  ops { load { gva: 0x401000 width: 8 } }
  ops { write_entry { table_gfn: 2 index: 5 raw: 0 } }
  ops { load { gva: 0x5010 width: 4 } }
)pb";

class Recorder final : public RunObserver {
 public:
  void OnOp(const OpRecord& r) override { records.push_back(r); }
  std::vector<OpRecord> records;
};

TEST(Runner, OutcomesFollowTheGuestTables) {
  const Case c = Parse(kTwoSpaces);
  testing::ReferenceBackedMmu mmu;
  Recorder recorder;
  const RunResult result = Runner(c, mmu).Run(&recorder);
  ASSERT_FALSE(result.divergence) << result.divergence->summary;
  EXPECT_EQ(result.ops_run, 8);
  ASSERT_EQ(recorder.records.size(), 9u);  // the initial CR3 load, then 8 ops
  // store: gfn 7 lives in host frame 0x2000007.
  EXPECT_EQ(recorder.records[1].reference.kind, Outcome::Kind::kOk);
  EXPECT_EQ(recorder.records[1].reference.hpa, 0x2000007010u);
  // 4 MB page: gpa 0x401000 = gfn 0x401, slot 2 frame 0x3000001.
  EXPECT_EQ(recorder.records[2].reference.hpa, 0x3000001000u);
  // gpa 0x404000 is beyond the 4-page slot: MMIO.
  EXPECT_EQ(recorder.records[3].reference.kind, Outcome::Kind::kMmio);
  EXPECT_EQ(recorder.records[3].reference.gpa, 0x404000u);
  // The second address space shares the PT: the stored value is visible.
  EXPECT_EQ(recorder.records[5].reference.value, 0xabcdu);
  // ...but has no PDE 1: not present, supervisor read: error code 0.
  EXPECT_EQ(recorder.records[6].reference.kind, Outcome::Kind::kPageFault);
  EXPECT_EQ(recorder.records[6].reference.error_code, 0u);
  EXPECT_EQ(recorder.records[6].reference.cr2, 0x401000u);
  // After the PTE is cleared, the access faults on both sides.
  EXPECT_EQ(recorder.records[8].mmu.kind, Outcome::Kind::kPageFault);
  for (const OpRecord& r : recorder.records) {
    EXPECT_EQ(r.reference, r.mmu) << r.text;
  }
}

}  // namespace
}  // namespace shadowdiff
