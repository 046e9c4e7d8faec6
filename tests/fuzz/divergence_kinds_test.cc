// Every divergence kind the differ knows is produced by a deliberately wrong
// MMU double, and the same case agrees on the correct double: the differ is
// shown to catch each kind, and not to cry wolf on it.
#include <string>

#include "fuzz/case_file.h"
#include "fuzz/runner.h"
#include "gtest/gtest.h"
#include "proto/normalize.h"
#include "tests/fuzz/reference_backed_mmu.h"

namespace shadowdiff {
namespace {

using Flaw = testing::ReferenceBackedMmu::Flaw;

// A 4-level guest: PML4 at gfn 1, PDPT at 2, PD at 3, PT at 4; PT entries
// 0x10.. map gvas 0x10000.. . RAM is gfns 0..63 in host frames 0x1000000...
constexpr char kFourLevelSetup[] = R"(
  setup {
    mode: PAGING_4LEVEL
    cr0_wp: true
    efer_nxe: true
    slots { base_gfn: 0 pages: 64 host_frame: 0x1000000 }
    cr3 { gfn: 1 }
    entries { table_gfn: 1 index: 0 bits { present: true writable: true user: true target_gfn: 2 } }
    entries { table_gfn: 2 index: 0 bits { present: true writable: true user: true target_gfn: 3 } }
    entries { table_gfn: 3 index: 0 bits { present: true writable: true user: true target_gfn: 4 } }
    # 0x10000: user, writable, accessed and dirty.
    entries { table_gfn: 4 index: 0x10 bits { present: true writable: true user: true accessed: true dirty: true target_gfn: 0x10 } }
    # 0x11000: supervisor only.
    entries { table_gfn: 4 index: 0x11 bits { present: true writable: true target_gfn: 0x11 } }
    # 0x13000: user, read-only.
    entries { table_gfn: 4 index: 0x13 bits { present: true user: true target_gfn: 0x13 } }
  }
)";

Case MakeCase(const std::string& ops) {
  absl::StatusOr<Case> c =
      ParseTextCase(std::string(kFourLevelSetup) + ops, "test case");
  EXPECT_TRUE(c.ok()) << c.status();
  Normalize(*c);
  return *c;
}

RunResult RunWith(const Case& c, Flaw flaw) {
  testing::ReferenceBackedMmu mmu(flaw);
  return Runner().Run(c, mmu);
}

void ExpectCaught(const std::string& ops, Flaw flaw, DivergenceKind kind,
                  int op_index) {
  const Case c = MakeCase(ops);
  const RunResult correct = RunWith(c, Flaw::kNone);
  EXPECT_FALSE(correct.divergence.has_value())
      << "the correct double diverged: " << correct.divergence->summary;
  const RunResult flawed = RunWith(c, flaw);
  ASSERT_TRUE(flawed.divergence.has_value());
  EXPECT_EQ(KindName(flawed.divergence->kind), KindName(kind))
      << flawed.divergence->summary;
  EXPECT_EQ(flawed.divergence->op_index, op_index);
}

TEST(DivergenceKinds, WrongErrorCodeIsAnOutcomeDivergence) {
  // User read of a supervisor page: #PF with P|U = 0x5; the double says 0x4.
  ExpectCaught("ops { load { gva: 0x11000 width: 8 user: true } }",
               Flaw::kDropsPresentBitInErrorCode, DivergenceKind::kOutcome, 0);
}

TEST(DivergenceKinds, AcceptedBadPdpteIsAnOutcomeDivergence) {
  // PAE: PDPTE 0 at gpa 0x1000 has bit 1 (reserved there) set: #GP on load.
  const std::string text = R"(
    setup {
      mode: PAGING_PAE
      slots { base_gfn: 0 pages: 16 host_frame: 0x1000000 }
      cr3 { gfn: 1 }
      entries { table_gfn: 1 index: 0 raw: 0x2003 }
    }
  )";
  absl::StatusOr<Case> c = ParseTextCase(text, "pae case");
  ASSERT_TRUE(c.ok()) << c.status();
  Normalize(*c);
  EXPECT_FALSE(RunWith(*c, Flaw::kNone).divergence.has_value());
  const RunResult flawed = RunWith(*c, Flaw::kAcceptsReservedPdpte);
  ASSERT_TRUE(flawed.divergence.has_value());
  EXPECT_EQ(flawed.divergence->kind, DivergenceKind::kOutcome);
  EXPECT_EQ(flawed.divergence->op_index, kSetupOp);
  EXPECT_EQ(flawed.divergence->reference.kind, Outcome::Kind::kGp);
}

TEST(DivergenceKinds, MissingAccessedBitsAreAMemoryDivergence) {
  // The load sets A in PML4E, PDPTE and PDE (the PTE has it already).
  ExpectCaught("ops { load { gva: 0x10000 width: 4 } }",
               Flaw::kSetsNoAccessedBits, DivergenceKind::kMemory, 0);
}

// Maps gva 0x10000, then points its PTE at another frame.
constexpr char kLoadThenRetargetPte[] = R"(
  ops { load { gva: 0x10000 width: 4 } }
  ops { write_entry { table_gfn: 4 index: 0x10 bits { present: true writable: true user: true accessed: true dirty: true target_gfn: 0x12 } } }
)";

TEST(DivergenceKinds, MappingKeptAfterTableWriteIsAMappingDivergence) {
  ExpectCaught(kLoadThenRetargetPte, Flaw::kKeepsMappingsOnTableWrite,
               DivergenceKind::kMapping, 1);
}

TEST(DivergenceKinds, WritableReadOnlyPageIsARightsDivergence) {
  ExpectCaught("ops { load { gva: 0x13000 width: 4 user: true } }",
               Flaw::kMapsEverythingWritable, DivergenceKind::kRights, 0);
}

TEST(DivergenceKinds, MappingWithoutAccessedBitsIsUnaccessed) {
  // Loading 0x10000 makes the double map 0x11000 too, whose PTE has A=0.
  ExpectCaught("ops { load { gva: 0x10000 width: 4 } }",
               Flaw::kPrefetchesNextPage, DivergenceKind::kUnaccessed, 0);
}

TEST(DivergenceKinds, ForgottenFlushIsAStaleTlbDivergence) {
  ExpectCaught(kLoadThenRetargetPte, Flaw::kForgetsTlbFlush,
               DivergenceKind::kStaleTlb, 1);
}

TEST(DivergenceKinds, EndlessRetriesAreALivelock) {
  ExpectCaught("ops { load { gva: 0x10000 width: 4 } }", Flaw::kAlwaysRetries,
               DivergenceKind::kLivelock, 0);
}

TEST(DivergenceKinds, UpperAccessedBitsOfAFaultingWalkMayBeSet) {
  // PTE 0x20 is not present: the walk faults at level 1, and the MMU may set
  // A in the PML4E, PDPTE and PDE above it (SDM 4.8). No divergence.
  const Case c = MakeCase(R"(
    ops { load { gva: 0x20000 width: 4 } }
    ops { load { gva: 0x10000 width: 4 } }
  )");
  const RunResult result = RunWith(c, Flaw::kSetsUpperAccessedOnFault);
  EXPECT_FALSE(result.divergence.has_value()) << result.divergence->summary;
  EXPECT_EQ(result.ops_run, 2);
}

TEST(DivergenceKinds, AccessedBitOfTheFaultingLeafIsNotOptional) {
  // A user read of the supervisor page 0x11000 faults at the leaf: A may
  // appear above it but never in the leaf itself.
  ExpectCaught("ops { load { gva: 0x11000 width: 4 user: true } }",
               Flaw::kSetsLeafAccessedOnFault, DivergenceKind::kMemory, 0);
  const Case c = MakeCase("ops { load { gva: 0x11000 width: 4 user: true } }");
  EXPECT_FALSE(RunWith(c, Flaw::kSetsUpperAccessedOnFault).divergence);
}

}  // namespace
}  // namespace shadowdiff
