#include "fuzz/judge.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "fuzz/case_support.h"
#include "fuzz/signature.h"
#include "host/mmu_registry.h"
#include "proto/normalize.h"

namespace shadowdiff {

Judge::Judge(RunSettings settings, KnownSignatures* known)
    : settings_(std::move(settings)), known_(known) {}

std::optional<Divergence> Judge::RunOn(const MmuChoice& choice, const Case& c,
                                       RunObserver* observer, int* ops_run,
                                       std::string* unsupported) {
  // One look-up of the registry per run: its entry gives both the
  // capabilities and the factory.
  absl::StatusOr<const host::MmuInfo*> info = host::LookUpMmu(choice.name);
  if (info.ok()) {
    if (std::optional<std::string> feature =
            UnsupportedFeature(c, (*info)->capabilities)) {
      *unsupported = *feature;
      return std::nullopt;
    }
  }
  absl::StatusOr<std::unique_ptr<host::GuestMmu>> mmu =
      info.ok()
          ? (*info)->factory(choice.switches)
          : absl::StatusOr<std::unique_ptr<host::GuestMmu>>(info.status());
  if (!mmu.ok()) {
    Divergence d;
    d.kind = DivergenceKind::kMmuError;
    d.op_index = kSetupOp;
    d.summary = absl::StrFormat("the MMU could not be made: %s",
                                mmu.status().ToString());
    return d;
  }
  mmu_ = *std::move(mmu);
  RunResult result =
      runner_.Run(c, *mmu_, observer, settings_.host_tlb, settings_.oracle);
  *ops_run = result.ops_run;
  return std::move(result.divergence);
}

Verdict Judge::Run(const Case& c, RunObserver* observer) {
  Verdict verdict;
  if (IsEmpty(c)) return verdict;
  verdict.divergence =
      RunOn(settings_.mmu, c, observer, &verdict.ops_run, &verdict.unsupported);
  if (!verdict.unsupported.empty()) {
    verdict.kind = Verdict::Kind::kUnsupported;
    return verdict;
  }
  if (!verdict.divergence) return verdict;
  verdict.kind = Verdict::Kind::kDivergence;
  verdict.signature = Signature(c, *verdict.divergence);
  if (known_ != nullptr && known_->Matches(verdict.signature)) {
    verdict.kind = Verdict::Kind::kKnown;
    return verdict;
  }
  if (settings_.baseline) {
    // The baseline speaks only for cases it supports; the MMU under test's
    // objects are kept for last_mmu(), the baseline's are dropped.
    std::unique_ptr<host::GuestMmu> under_test = std::move(mmu_);
    int baseline_ops = 0;
    std::string baseline_unsupported;
    const std::optional<Divergence> baseline = RunOn(
        *settings_.baseline, c, nullptr, &baseline_ops, &baseline_unsupported);
    mmu_ = std::move(under_test);
    if (baseline && Signature(c, *baseline) == verdict.signature) {
      verdict.kind = Verdict::Kind::kInBaseline;
    }
  }
  return verdict;
}

}  // namespace shadowdiff
