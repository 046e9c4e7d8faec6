// impl/'s MMUs in the registry: "shadow", the KVM-style shadow MMU (the
// default MMU under test), its "shadow-deferred" and "shadow-unsync" modes,
// and "naive", the same MMU dropping every shadow on
// any guest table write or CR3 load, whose switch string is a list of bug-zoo
// names (impl/bug_switches.h); and "lazy", the oracle's check (lazy_mmu.h).

#include <memory>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "host/mmu_registry.h"
#include "impl/bug_switches.h"
#include "impl/lazy_mmu.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff::impl {
namespace {

host::MmuFactory FactoryFor(ShadowMmu::Options base) {
  return [base](std::string_view switches)
             -> absl::StatusOr<std::unique_ptr<host::GuestMmu>> {
    absl::StatusOr<BugSet> bugs = ParseBugList(switches);
    if (!bugs.ok()) return bugs.status();
    for (size_t i = 0; i < AllBugNames().size(); ++i) {
      const Bug bug = static_cast<Bug>(i);
      if (!bugs->Has(bug)) continue;
      if (UnsyncBug(bug) && !base.unsync) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", std::string(BugName(bug)),
                         "' is a bug of the out-of-sync mode: use "
                         "--mmu=shadow-unsync"));
      }
      if (DeferredFlushBug(bug) && !base.defer_flushes && !base.unsync) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", std::string(BugName(bug)),
                         "' is a bug of the deferred-flush mode: use "
                         "--mmu=shadow-deferred or shadow-unsync"));
      }
    }
    ShadowMmu::Options options = base;
    options.bugs = *bugs;
    return std::make_unique<ShadowMmu>(options);
  };
}

host::MmuInfo Info(std::string name, std::string summary,
                   ShadowMmu::Options options) {
  return {
      .name = std::move(name),
      .summary = std::move(summary),
      .switches = absl::StrJoin(
          options.unsync          ? AllBugNames()
          : options.defer_flushes ? DeferredBugNames()
                                  : EagerBugNames(),
          ",", [](std::string* out, std::string_view n) { out->append(n); }),
      .capabilities = {},
      .factory = FactoryFor(options)};
}

const host::MmuRegistrar kShadow(
    Info("shadow", "impl/'s KVM-style shadow MMU (the default)", {}));
const host::MmuRegistrar kDeferred(
    Info("shadow-deferred",
         "impl/'s shadow MMU relying on the guest's invalidations: host TLB "
         "flushes for guest table changes wait for INVLPG, CR3 and CR4 loads "
         "and INVPCID (use --oracle=architectural)",
         {.defer_flushes = true}));
const host::MmuRegistrar kUnsync(
    Info("shadow-unsync",
         "impl/'s shadow MMU with out-of-sync last-level pages: the guest "
         "writes its page tables directly, the shadows catch up at INVLPG, "
         "CR3 loads and new links (use --oracle=architectural)",
         {.defer_flushes = true, .unsync = true}));
const host::MmuRegistrar kNaive(
    Info("naive",
         "impl/'s shadow MMU dropping every shadow on a guest table write or "
         "CR3 load",
         {.strategy = ShadowMmu::Strategy::kNaive}));
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
