#include "impl/bug_switches.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace shadowdiff::impl {
namespace {

// Indexed by the enum.
constexpr std::array<std::string_view, 20> kNames = {
    "nonpae-pde-single-zap",
    "quadrant-ignored",
    "update-ignores-parent-rights",
    "nxe-not-in-role",
    "wp-not-in-role",
    "direct-sp-shares-rights",
    "no-write-protect-on-shadow",
    "no-flush-on-protect",
    "misaligned-write-kept",
    "pae-pdpte-reread",
    "invlpg-ignored",
    "invlpg-large-partial",
    "cr3-reload-no-flush",
    "pge-toggle-no-flush",
    "pcid-noflush-keeps-host-tlb",
    "unsync-child-linked-stale",
    "invlpg-skips-sync",
    "cr3-cached-root-skips-sync",
    "unsync-beside-upper-shadow",
    "sync-keeps-old-frame",
};
static_assert(kNames.size() ==
              static_cast<size_t>(Bug::kSyncKeepsOldFrame) + 1);
constexpr size_t kEagerBugs = static_cast<size_t>(Bug::kPaePdpteReread) + 1;
constexpr size_t kDeferredBugs =
    static_cast<size_t>(Bug::kPcidNoflushKeepsHostTlb) + 1;

std::string_view StripSpaces(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\n") - first + 1);
}

absl::Status UnknownBug(std::string_view name) {
  std::string message = "unknown bug '" + std::string(name) + "' (known:";
  for (std::string_view known : kNames) {
    message += " " + std::string(known);
  }
  return absl::InvalidArgumentError(message + ")");
}

}  // namespace

std::string_view BugName(Bug bug) { return kNames[static_cast<size_t>(bug)]; }

std::span<const std::string_view> AllBugNames() { return kNames; }

std::span<const std::string_view> EagerBugNames() {
  return std::span<const std::string_view>(kNames).first(kEagerBugs);
}

std::span<const std::string_view> DeferredBugNames() {
  return std::span<const std::string_view>(kNames).first(kDeferredBugs);
}

bool DeferredFlushBug(Bug bug) {
  const size_t index = static_cast<size_t>(bug);
  return index >= kEagerBugs && index < kDeferredBugs;
}

bool UnsyncBug(Bug bug) { return static_cast<size_t>(bug) >= kDeferredBugs; }

absl::StatusOr<BugSet> ParseBugList(std::string_view comma_separated) {
  BugSet bugs;
  while (!comma_separated.empty()) {
    const size_t comma = comma_separated.find(',');
    const std::string_view item = StripSpaces(comma_separated.substr(0, comma));
    comma_separated = comma == std::string_view::npos
                          ? std::string_view()
                          : comma_separated.substr(comma + 1);
    if (item.empty()) continue;
    const auto* known = std::find(kNames.begin(), kNames.end(), item);
    if (known == kNames.end()) return UnknownBug(item);
    bugs.Add(static_cast<Bug>(known - kNames.begin()));
  }
  return bugs;
}

}  // namespace shadowdiff::impl
