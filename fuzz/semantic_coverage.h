#ifndef SHADOWDIFF_FUZZ_SEMANTIC_COVERAGE_H_
#define SHADOWDIFF_FUZZ_SEMANTIC_COVERAGE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "fuzz/runner.h"
#include "host/guest_mmu.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// What a corpus reaches, in the terms of the domain rather than of edges:
// modes, op kinds, kinds of guest fault, and every situation the MMU under
// test counts (each MMU counter that moved in a case is a situation reached).
class SemanticCoverage {
 public:
  // Records one case: its set-up and ops, the reference outcomes seen by
  // `observer()` during its run, and the MMU's counters at the end.
  void AddCase(const Case& c, const std::vector<host::Counter>& counters);
  RunObserver& observer() { return observer_; }

  // One line per item: how many cases reached it; items never reached are
  // listed too, so a gap shows.
  std::string Summary() const;

 private:
  class FaultObserver final : public RunObserver {
   public:
    void OnOp(const OpRecord& record) override;
    std::set<std::string> seen;  // in the current case
  };

  void Count(const std::string& item) { ++cases_reaching_[item]; }

  FaultObserver observer_;
  std::map<std::string, int> cases_reaching_;
  std::set<std::string> mmu_counters_;
  int cases_ = 0;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_SEMANTIC_COVERAGE_H_
