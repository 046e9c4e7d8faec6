#include "fuzz/judge.h"

#include <string>

#include "absl/strings/match.h"
#include "fuzz/case_file.h"
#include "fuzz/known_signatures.h"
#include "fuzz/run_settings.h"
#include "fuzz/signature.h"
#include "gtest/gtest.h"
#include "host/mmu_registry.h"
#include "proto/normalize.h"

namespace shadowdiff {
namespace {

Case Regression(const std::string& bug) {
  absl::StatusOr<Case> c =
      ReadCaseFile(std::string(SHADOWDIFF_SOURCE_DIR) + "/corpus/regressions/" +
                   bug + ".textproto");
  EXPECT_TRUE(c.ok()) << c.status();
  Normalize(*c);
  return *c;
}

RunSettings Settings(const std::string& mmu) {
  absl::StatusOr<MmuChoice> choice = ParseMmuChoice(mmu);
  EXPECT_TRUE(choice.ok()) << choice.status();
  return RunSettings{.mmu = *choice};
}

// The first op of c that is a guest access: where an MMU that cannot map
// anything first shows it.
int FirstAccess(const Case& c) {
  for (int i = 0; i < c.ops_size(); ++i) {
    const Op& op = c.ops(i);
    if (op.has_load() || op.has_store() || op.has_fetch()) return i;
  }
  return -1;
}

// The signature of the wp-not-in-role regression, as its header describes the
// divergence: host rights beyond the guest's, found by the audit right after
// the CR0.WP toggle (op 1) of a 32-bit case, through a 4 KB leaf (level 1);
// a control load has no outcome on either side.
TEST(Judge, SignatureNamesKindOpModeLevelAndOutcomes) {
  const Case c = Regression("wp-not-in-role");
  Judge judge(Settings("shadow:wp-not-in-role"));
  const Verdict verdict = judge.Run(c);
  ASSERT_EQ(verdict.kind, Verdict::Kind::kDivergence);
  EXPECT_EQ(verdict.signature,
            "rights/set_control/32-bit/L1/ref=none,mmu=none/ec=-");
}

TEST(Judge, KnownSignaturesAreToleratedAndCounted) {
  const Case c = Regression("wp-not-in-role");
  absl::StatusOr<KnownSignatures> known = KnownSignatures::Parse(
      "# a comment\noutcome/*\nrights/set_control/*\n", "test");
  ASSERT_TRUE(known.ok());
  Judge judge(Settings("shadow:wp-not-in-role"), &*known);
  EXPECT_EQ(judge.Run(c).kind, Verdict::Kind::kKnown);
  EXPECT_EQ(known->matched(), 1u);
  EXPECT_TRUE(absl::StrContains(known->Tally(), "1  rights/set_control/*"));

  absl::StatusOr<KnownSignatures> other =
      KnownSignatures::Parse("outcome/*", "test");
  ASSERT_TRUE(other.ok());
  Judge strict(Settings("shadow:wp-not-in-role"), &*other);
  EXPECT_EQ(strict.Run(c).kind, Verdict::Kind::kDivergence);
  EXPECT_EQ(other->matched(), 0u);
}

TEST(Judge, KnownFileWithoutPatternsIsAnError) {
  EXPECT_FALSE(KnownSignatures::Parse("# only a comment\n\n", "f").ok());
  EXPECT_FALSE(KnownSignatures::Load("/nonexistent/known.txt").ok());
}

// A divergence counts only when the baseline does not share it: the same bug
// switched on in the baseline hides it, the released baseline does not.
TEST(Judge, BaselineSharingTheSignatureHidesTheDivergence) {
  const Case c = Regression("wp-not-in-role");
  RunSettings same = Settings("shadow:wp-not-in-role");
  same.baseline = MmuChoice{"shadow", "wp-not-in-role"};
  EXPECT_EQ(Judge(same).Run(c).kind, Verdict::Kind::kInBaseline);

  RunSettings fixed = Settings("shadow:wp-not-in-role");
  fixed.baseline = MmuChoice{"shadow", ""};
  const Verdict verdict = Judge(fixed).Run(c);
  EXPECT_EQ(verdict.kind, Verdict::Kind::kDivergence);
  ASSERT_TRUE(verdict.divergence);
  EXPECT_EQ(verdict.divergence->kind, DivergenceKind::kRights);

  // Another bug in the baseline diverges otherwise (or not at all here).
  RunSettings other = Settings("shadow:wp-not-in-role");
  other.baseline = MmuChoice{"shadow", "nxe-not-in-role"};
  EXPECT_EQ(Judge(other).Run(c).kind, Verdict::Kind::kDivergence);
}

// On an untagged host every VM entry flushes the TLB, so a flush the MMU
// forgets cannot be seen: the regression of the forgotten flush agrees there.
TEST(Judge, UntaggedHostTlbHidesAForgottenFlush) {
  const Case c = Regression("no-flush-on-protect");
  RunSettings settings = Settings("shadow:no-flush-on-protect");
  EXPECT_EQ(Judge(settings).Run(c).kind, Verdict::Kind::kDivergence);
  settings.host_tlb = host::HostTlbTagging::kUntagged;
  EXPECT_EQ(Judge(settings).Run(c).kind, Verdict::Kind::kAgree);
}

TEST(Judge, MmuInternalErrorIsAFindingAtTheOp) {
  const Case c = Regression("wp-not-in-role");
  const Verdict verdict = Judge(Settings("c-bug-on")).Run(c);
  ASSERT_EQ(verdict.kind, Verdict::Kind::kDivergence);
  ASSERT_TRUE(verdict.divergence);
  EXPECT_EQ(verdict.divergence->kind, DivergenceKind::kMmuError);
  EXPECT_EQ(verdict.divergence->op_index, FirstAccess(c));
  EXPECT_TRUE(
      absl::StrContains(verdict.divergence->summary, "c_mmu_doubles.c:"))
      << verdict.divergence->summary;
  EXPECT_TRUE(absl::StrContains(verdict.divergence->summary, "BUG_ON("));
}

TEST(Judge, EndlessFaultsAreALivelockAtTheOp) {
  const Case c = Regression("wp-not-in-role");
  const Verdict verdict = Judge(Settings("c-loops")).Run(c);
  ASSERT_EQ(verdict.kind, Verdict::Kind::kDivergence);
  EXPECT_EQ(verdict.divergence->kind, DivergenceKind::kLivelock);
  EXPECT_EQ(verdict.divergence->op_index, FirstAccess(c));
}

TEST(Judge, FailedStartIsAnMmuErrorAtSetUp) {
  const Verdict verdict =
      Judge(Settings("c-cannot-start")).Run(Regression("wp-not-in-role"));
  ASSERT_EQ(verdict.kind, Verdict::Kind::kDivergence);
  EXPECT_EQ(verdict.divergence->kind, DivergenceKind::kMmuError);
  EXPECT_EQ(verdict.divergence->op_index, kSetupOp);
  EXPECT_TRUE(
      absl::StrContains(verdict.divergence->summary, "this MMU never starts"));
}

TEST(Judge, CaseOutsideTheCapabilitiesIsUnsupportedNotRun) {
  Judge judge(Settings("c-4level-only"));
  const Verdict verdict = judge.Run(Regression("wp-not-in-role"));  // 32-bit
  EXPECT_EQ(verdict.kind, Verdict::Kind::kUnsupported);
  EXPECT_EQ(verdict.unsupported, "PAGING_32BIT mode");
  EXPECT_EQ(verdict.ops_run, 0);
  Case four_level = Regression("wp-not-in-role");
  four_level.mutable_setup()->set_mode(PAGING_4LEVEL);
  Normalize(four_level);
  EXPECT_EQ(judge.Run(four_level).kind, Verdict::Kind::kDivergence);
}

TEST(Judge, CSwitchesAreTheMmusOwn) {
  EXPECT_TRUE(ParseMmuChoice("c-loops").ok());
  const absl::StatusOr<MmuChoice> bad =
      ParseMmuChoice("c-loops:wp-not-in-role");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "no switches"));
  const absl::StatusOr<MmuChoice> unknown = ParseMmuChoice("no-such-mmu");
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "c-loops"));
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "shadow"));
}

TEST(MmuRegistry, NamesAreUniqueAndWellFormed) {
  const host::MmuInfo* shadow = host::FindMmu("shadow");
  ASSERT_NE(shadow, nullptr);
  host::MmuInfo copy = *shadow;
  EXPECT_EQ(host::RegisterMmu(copy).code(), absl::StatusCode::kAlreadyExists);
  copy.name = "shadow:x";
  EXPECT_EQ(host::RegisterMmu(copy).code(), absl::StatusCode::kInvalidArgument);
  copy.name = "";
  EXPECT_FALSE(host::RegisterMmu(copy).ok());
  std::vector<std::string> names = host::MmuNames();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_NE(std::find(names.begin(), names.end(), "c-bug-on"), names.end());
}

}  // namespace
}  // namespace shadowdiff
