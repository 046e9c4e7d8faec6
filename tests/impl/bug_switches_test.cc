#include "impl/bug_switches.h"

#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shadowdiff::impl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(BugSwitchesTest, NamesAreTheZoosInOrder) {
  const std::vector<std::string_view> names(AllBugNames().begin(),
                                            AllBugNames().end());
  EXPECT_THAT(
      names,
      ElementsAre("nonpae-pde-single-zap", "quadrant-ignored",
                  "update-ignores-parent-rights", "nxe-not-in-role",
                  "wp-not-in-role", "direct-sp-shares-rights",
                  "no-write-protect-on-shadow", "no-flush-on-protect",
                  "misaligned-write-kept", "pae-pdpte-reread", "invlpg-ignored",
                  "invlpg-large-partial", "cr3-reload-no-flush",
                  "pge-toggle-no-flush", "pcid-noflush-keeps-host-tlb",
                  "unsync-child-linked-stale", "invlpg-skips-sync",
                  "cr3-cached-root-skips-sync", "unsync-beside-upper-shadow",
                  "sync-keeps-old-frame"));
  EXPECT_EQ(BugName(Bug::kQuadrantIgnored), "quadrant-ignored");
  EXPECT_EQ(BugName(Bug::kPaePdpteReread), "pae-pdpte-reread");
  EXPECT_EQ(BugName(Bug::kPcidNoflushKeepsHostTlb),
            "pcid-noflush-keeps-host-tlb");
}

TEST(BugSwitchesTest, EagerBugsAreTheFirstTen) {
  EXPECT_EQ(EagerBugNames().size(), 10u);
  EXPECT_EQ(EagerBugNames().back(), "pae-pdpte-reread");
  EXPECT_FALSE(DeferredFlushBug(Bug::kPaePdpteReread));
  EXPECT_TRUE(DeferredFlushBug(Bug::kInvlpgIgnored));
  EXPECT_TRUE(DeferredFlushBug(Bug::kPcidNoflushKeepsHostTlb));
}

TEST(BugSwitchesTest, UnsyncBugsComeLast) {
  EXPECT_EQ(DeferredBugNames().size(), 15u);
  EXPECT_EQ(DeferredBugNames().back(), "pcid-noflush-keeps-host-tlb");
  EXPECT_FALSE(UnsyncBug(Bug::kPcidNoflushKeepsHostTlb));
  EXPECT_FALSE(DeferredFlushBug(Bug::kUnsyncChildLinkedStale));
  EXPECT_TRUE(UnsyncBug(Bug::kUnsyncChildLinkedStale));
  EXPECT_TRUE(UnsyncBug(Bug::kSyncKeepsOldFrame));
}

TEST(BugSwitchesTest, EmptyListIsNoBug) {
  absl::StatusOr<BugSet> bugs = ParseBugList("");
  ASSERT_TRUE(bugs.ok());
  EXPECT_TRUE(bugs->empty());
}

TEST(BugSwitchesTest, ParsesEachNameOnItsOwn) {
  for (size_t i = 0; i < AllBugNames().size(); ++i) {
    absl::StatusOr<BugSet> bugs = ParseBugList(AllBugNames()[i]);
    ASSERT_TRUE(bugs.ok()) << AllBugNames()[i];
    for (size_t j = 0; j < AllBugNames().size(); ++j) {
      EXPECT_EQ(bugs->Has(static_cast<Bug>(j)), i == j)
          << AllBugNames()[i] << " / " << AllBugNames()[j];
    }
  }
}

TEST(BugSwitchesTest, ParsesAListWithSpaces) {
  absl::StatusOr<BugSet> bugs =
      ParseBugList(" wp-not-in-role , nxe-not-in-role,");
  ASSERT_TRUE(bugs.ok());
  EXPECT_TRUE(bugs->Has(Bug::kWpNotInRole));
  EXPECT_TRUE(bugs->Has(Bug::kNxeNotInRole));
  EXPECT_FALSE(bugs->Has(Bug::kQuadrantIgnored));
}

TEST(BugSwitchesTest, UnknownNameIsAnErrorListingTheValidOnes) {
  absl::StatusOr<BugSet> bugs = ParseBugList("quadrant-ignored,quadrant");
  ASSERT_FALSE(bugs.ok());
  EXPECT_EQ(bugs.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(bugs.status().message());
  EXPECT_THAT(message, HasSubstr("'quadrant'"));
  for (std::string_view name : AllBugNames()) {
    EXPECT_THAT(message, HasSubstr(std::string(name)));
  }
}

}  // namespace
}  // namespace shadowdiff::impl
