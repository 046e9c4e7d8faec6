#ifndef SHADOWDIFF_FUZZ_REDUCER_H_
#define SHADOWDIFF_FUZZ_REDUCER_H_

#include <functional>
#include <optional>

#include "fuzz/divergence.h"
#include "proto/case.pb.h"

namespace shadowdiff {

struct ReduceStats {
  int runs = 0;
  int ops_before = 0;
  int ops_after = 0;
  int setup_writes_before = 0;
  int setup_writes_after = 0;
};

// Shrinks a diverging case while it keeps diverging the same way: the same
// divergence kind, at the same kind of op (or at set-up, or at the end). It
// deletes runs of ops, then single ops, unused slots and set-up writes, then
// simplifies what is left (privilege, widths, values, control bits), and
// repeats until nothing more goes.
class Reducer {
 public:
  // Runs a normalized case on a fresh MMU and returns its divergence, if any.
  using RunFn = std::function<std::optional<Divergence>(const Case&)>;

  explicit Reducer(RunFn run, int max_runs = 20000)
      : run_(std::move(run)), max_runs_(max_runs) {}

  // c must be normalized and diverge; the result is normalized and diverges
  // the same way.
  Case Reduce(const Case& c, ReduceStats* stats = nullptr);

 private:
  bool StillDiverges(const Case& candidate);
  bool DeleteOpChunks(Case& c);
  bool DeleteSetup(Case& c);
  bool Simplify(Case& c);
  bool TryReplace(Case& c, const Case& candidate);

  RunFn run_;
  int max_runs_;
  int runs_ = 0;
  DivergenceKind kind_ = DivergenceKind::kOutcome;
  int op_kind_ = 0;  // Op::kind_case() of the diverging op; <0 for set-up/end
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_REDUCER_H_
