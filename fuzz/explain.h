#ifndef SHADOWDIFF_FUZZ_EXPLAIN_H_
#define SHADOWDIFF_FUZZ_EXPLAIN_H_

#include <ostream>
#include <vector>

#include "fuzz/runner.h"
#include "host/guest_mmu.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// Prints the op-by-op trace of both sides: outcomes, the reference walk, the
// host walk the MMU built, host faults taken and the MMU counters that moved.
class Explainer final : public RunObserver {
 public:
  Explainer(const Case& c, const host::GuestMmu& mmu, std::ostream& out);
  void OnOp(const OpRecord& record) override;

 private:
  const Case& case_;
  const host::GuestMmu& mmu_;
  std::ostream& out_;
  std::vector<host::Counter> last_counters_;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_EXPLAIN_H_
