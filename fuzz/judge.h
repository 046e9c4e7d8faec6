#ifndef SHADOWDIFF_FUZZ_JUDGE_H_
#define SHADOWDIFF_FUZZ_JUDGE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fuzz/divergence.h"
#include "fuzz/known_signatures.h"
#include "fuzz/run_settings.h"
#include "fuzz/runner.h"
#include "host/guest_mmu.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// What a case comes to under a run's settings, after triage.
struct Verdict {
  enum class Kind {
    kAgree,
    kUnsupported,  // the MMU does not support the case: not run
    kDivergence,   // a finding
    kKnown,        // a divergence whose signature is tolerated (--known)
    kInBaseline,   // a divergence the baseline MMU has too (--baseline-mmu)
  };
  Kind kind = Kind::kAgree;
  int ops_run = 0;
  std::string unsupported;  // kUnsupported: what is
  // kDivergence, kKnown, kInBaseline: the MMU under test's divergence.
  std::optional<Divergence> divergence;
  std::string signature;
};

// Runs cases under one set of settings and triages each divergence: every
// command and the fuzzer go through it, so they agree on every verdict.
class Judge {
 public:
  // `settings` come from ParseMmuChoice (valid names and switches); `known`,
  // if given, must outlive the judge and counts its matches.
  explicit Judge(RunSettings settings, KnownSignatures* known = nullptr);

  // `c` must be normalized.
  Verdict Run(const Case& c, RunObserver* observer = nullptr);

  const RunSettings& settings() const { return settings_; }
  // The MMU under test of the last run (its name, its counters), or null.
  const host::GuestMmu* last_mmu() const { return mmu_.get(); }

 private:
  // The divergence of a fresh `choice` MMU on c; a case the MMU does not
  // support gives *unsupported instead.
  std::optional<Divergence> RunOn(const MmuChoice& choice, const Case& c,
                                  RunObserver* observer, int* ops_run,
                                  std::string* unsupported);

  RunSettings settings_;
  KnownSignatures* known_;
  Runner runner_;
  std::unique_ptr<host::GuestMmu> mmu_;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_JUDGE_H_
