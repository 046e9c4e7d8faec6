#include "fuzz/runner.h"

#include <string>
#include <string_view>
#include <vector>

#include "fuzz/case_file.h"
#include "fuzz/report.h"
#include "fuzz/run_settings.h"
#include "gtest/gtest.h"
#include "host/mmu_registry.h"
#include "impl/bug_switches.h"
#include "proto/normalize.h"
#include "tests/fuzz/reference_backed_mmu.h"
#include "tests/fuzz/seed_cases.h"

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
  const RunResult result = Runner().Run(c, mmu);
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
  const RunResult result = Runner().Run(c, mmu, &recorder);
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

// A Runner keeps only buffers from one run to the next: each seed, run on one
// Runner after the seed before it (with every bug of the zoo in turn, so that
// runs end early, diverge and leave shadows of every kind behind), gives the
// ops and the report a new Runner gives. The reports name host frames and
// spte values, so state carried over from an earlier run would show.
TEST(Runner, ReusedRunnerGivesWhatANewOneGives) {
  const std::vector<Case> seeds = testing::SeedCases();
  std::vector<std::string_view> injections = {""};
  for (std::string_view bug : impl::EagerBugNames()) injections.push_back(bug);
  Runner reused;
  int divergences = 0;
  for (std::string_view inject : injections) {
    for (const Case& seed : seeds) {
      auto reused_mmu = host::MakeMmu(kDefaultMmu, inject);
      auto new_mmu = host::MakeMmu(kDefaultMmu, inject);
      ASSERT_TRUE(reused_mmu.ok() && new_mmu.ok());
      const RunResult again = reused.Run(seed, **reused_mmu);
      const RunResult fresh = Runner().Run(seed, **new_mmu);
      ASSERT_EQ(again.ops_run, fresh.ops_run) << inject;
      ASSERT_EQ(again.divergence.has_value(), fresh.divergence.has_value())
          << inject;
      if (!fresh.divergence) continue;
      ++divergences;
      const RunSettings settings{
          .mmu = {std::string(kDefaultMmu), std::string(inject)}};
      EXPECT_EQ(FormatReport(seed, *again.divergence, settings),
                FormatReport(seed, *fresh.divergence, settings));
    }
  }
  // The bugs must have made the comparison of reports happen.
  EXPECT_GE(divergences, 20);
}

}  // namespace
}  // namespace shadowdiff
