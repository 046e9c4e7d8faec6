#ifndef SHADOWDIFF_IMPL_BUG_SWITCHES_H_
#define SHADOWDIFF_IMPL_BUG_SWITCHES_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"

// The bug zoo (../shared/brief/bug-zoo.md): real shadow-MMU bugs that can be
// switched back on, each at the place of its upstream fix. With every switch
// off the MMU takes the correct path.
namespace shadowdiff::impl {

enum class Bug {
  kNonpaePdeSingleZap,
  kQuadrantIgnored,
  kUpdateIgnoresParentRights,
  kNxeNotInRole,
  kWpNotInRole,
  kDirectSpSharesRights,
  kNoWriteProtectOnShadow,
  kNoFlushOnProtect,
  kMisalignedWriteKept,
  kPaePdpteReread,
  // The deferred-flush mode's (ShadowMmu::Options::defer_flushes), each at
  // its switch in impl/shadow_mmu.cc with the upstream history it follows.
  kInvlpgIgnored,
  kInvlpgLargePartial,
  kCr3ReloadNoFlush,
  kPgeToggleNoFlush,
  kPcidNoflushKeepsHostTlb,
  // The out-of-sync mode's (ShadowMmu::Options::unsync), each at its switch
  // in impl/unsync.cc or impl/shadow_mmu.cc with the upstream history it
  // follows.
  kUnsyncChildLinkedStale,
  kInvlpgSkipsSync,
  kCr3CachedRootSkipsSync,
  kUnsyncBesideUpperShadow,
  kSyncKeepsOldFrame,
};

// Whether the bug lives in the deferred-flush mode's code (an MMU without
// that mode refuses it), or in the out-of-sync mode's.
bool DeferredFlushBug(Bug bug);
bool UnsyncBug(Bug bug);

// The name the tools accept for the bug (`--inject=NAME`).
std::string_view BugName(Bug bug);

// Every bug's name, in the order of the enum.
std::span<const std::string_view> AllBugNames();
// The names of the bugs an MMU without the deferred-flush mode has, and of
// those one with it but without the out-of-sync mode has.
std::span<const std::string_view> EagerBugNames();
std::span<const std::string_view> DeferredBugNames();

class BugSet {
 public:
  void Add(Bug bug) { bits_ |= Bit(bug); }
  bool Has(Bug bug) const { return (bits_ & Bit(bug)) != 0; }
  bool empty() const { return bits_ == 0; }

  bool operator==(const BugSet&) const = default;

 private:
  static uint32_t Bit(Bug bug) { return 1u << static_cast<int>(bug); }

  uint32_t bits_ = 0;
};

// Parses "name[,name...]" (whitespace around names and empty items are
// ignored; "" is no bug). An unknown name is an InvalidArgumentError that
// names it and lists the valid names.
absl::StatusOr<BugSet> ParseBugList(std::string_view comma_separated);

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_BUG_SWITCHES_H_
