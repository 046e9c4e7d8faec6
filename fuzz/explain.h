#ifndef SHADOWDIFF_FUZZ_EXPLAIN_H_
#define SHADOWDIFF_FUZZ_EXPLAIN_H_

#include <ostream>
#include <vector>

#include "fuzz/judge.h"
#include "fuzz/runner.h"
#include "host/guest_mmu.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// Prints the op-by-op trace of both sides: outcomes, the reference walk, the
// host walk the MMU built, host faults taken and the MMU counters that moved.
class Explainer final : public RunObserver {
 public:
  // The counters are those of the judge's MMU under test of the run.
  Explainer(const Case& c, const Judge& judge, std::ostream& out);
  void OnOp(const OpRecord& record) override;

 private:
  const Case& case_;
  const Judge& judge_;
  std::ostream& out_;
  std::vector<host::Counter> last_counters_;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_EXPLAIN_H_
