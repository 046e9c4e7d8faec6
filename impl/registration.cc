// impl/'s MMUs in the registry: "shadow", the KVM-style shadow MMU (the
// default MMU under test), and "naive", the same MMU dropping every shadow on
// any guest table write or CR3 load, whose switch string is a list of bug-zoo
// names (impl/bug_switches.h); and "lazy", the oracle's check (lazy_mmu.h).

#include <memory>
#include <string_view>

#include "absl/strings/str_join.h"
#include "host/mmu_registry.h"
#include "impl/bug_switches.h"
#include "impl/lazy_mmu.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff::impl {
namespace {

host::MmuFactory FactoryFor(ShadowMmu::Strategy strategy) {
  return [strategy](std::string_view switches)
             -> absl::StatusOr<std::unique_ptr<host::GuestMmu>> {
    absl::StatusOr<BugSet> bugs = ParseBugList(switches);
    if (!bugs.ok()) return bugs.status();
    return std::make_unique<ShadowMmu>(
        ShadowMmu::Options{.bugs = *bugs, .strategy = strategy});
  };
}

host::MmuInfo Info(std::string name, std::string summary,
                   ShadowMmu::Strategy strategy) {
  return {
      .name = std::move(name),
      .summary = std::move(summary),
      .switches = absl::StrJoin(
          AllBugNames(), ",",
          [](std::string* out, std::string_view name) { out->append(name); }),
      .capabilities = {},
      .factory = FactoryFor(strategy)};
}

const host::MmuRegistrar kShadow(
    Info("shadow", "impl/'s KVM-style shadow MMU (the default)",
         ShadowMmu::Strategy::kKeepShadows));
const host::MmuRegistrar kNaive(
    Info("naive",
         "impl/'s shadow MMU dropping every shadow on a guest table write or "
         "CR3 load",
         ShadowMmu::Strategy::kNaive));
const host::MmuRegistrar kLazy(
    {.name = "lazy",
     .summary = "a TLB and nothing more: no write protection, translations "
                "kept until the guest invalidates them (legal only under "
                "--oracle=architectural)",
     .switches = "",
     .capabilities = {},
     .factory = [](std::string_view switches)
         -> absl::StatusOr<std::unique_ptr<host::GuestMmu>> {
       if (!switches.empty()) {
         return absl::InvalidArgumentError("the lazy MMU has no switches");
       }
       return std::make_unique<LazyMmu>();
     }});

}  // namespace
}  // namespace shadowdiff::impl
