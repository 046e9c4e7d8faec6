#include "fuzz/mmu_registry.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "impl/bug_switches.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff {

std::vector<std::string> MmuNames() { return {"shadow", "naive"}; }

absl::StatusOr<std::unique_ptr<host::GuestMmu>> MakeMmu(
    std::string_view name, std::string_view inject) {
  absl::StatusOr<impl::BugSet> bugs = impl::ParseBugList(inject);
  if (!bugs.ok()) return bugs.status();
  impl::ShadowMmu::Options options;
  options.bugs = *bugs;
  if (name == "shadow") {
    options.strategy = impl::ShadowMmu::Strategy::kKeepShadows;
  } else if (name == "naive") {
    options.strategy = impl::ShadowMmu::Strategy::kNaive;
  } else {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unknown MMU '%s' (known: %s)", name, absl::StrJoin(MmuNames(), ", ")));
  }
  return std::make_unique<impl::ShadowMmu>(options);
}

}  // namespace shadowdiff
