#ifndef SHADOWDIFF_FUZZ_RUNNER_H_
#define SHADOWDIFF_FUZZ_RUNNER_H_

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fuzz/divergence.h"
#include "fuzz/memory_differ.h"
#include "fuzz/oracle.h"
#include "fuzz/outcome.h"
#include "fuzz/step.h"
#include "host/guest_mmu.h"
#include "host/host_cpu.h"
#include "model/accessed_dirty.h"
#include "model/guest_memory.h"
#include "model/reference.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// What one op did on both sides, for traces (`shadowdiff explain`).
struct OpRecord {
  int index = 0;  // kSetupOp for the initial CR3 load
  std::string text;
  Outcome reference;
  Outcome mmu;
  std::optional<model::WalkResult> reference_walk;
  std::optional<host::HostWalkTrace> mmu_view;
  int host_faults = 0;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void OnOp(const OpRecord& record) = 0;
};

struct RunResult {
  std::optional<Divergence> divergence;
  int ops_run = 0;
};

// Runs a case on the reference and, through the host CPU, on the MMU under
// test, and after every op asks the oracle (fuzz/oracle.h) whether the
// outcome, guest memory and every host translation (current root, kept
// roots, host TLB) are allowed. Every run starts from nothing; a Runner keeps
// only its buffers (and its oracles) from one run to the next, so that a
// fuzzer, which keeps one, allocates little per input.
class Runner {
 public:
  Runner();

  // `c` must be normalized (proto/normalize.h); `mmu` is a new, unstarted MMU
  // for a host whose TLB is tagged as `tlb` says.
  RunResult Run(const Case& c, host::GuestMmu& mmu,
                RunObserver* observer = nullptr,
                host::HostTlbTagging tlb = host::HostTlbTagging::kTagged,
                OracleKind oracle = ORACLE_STRICT);

 private:
  // Runs each op on both sides and keeps what the comparisons need.
  class StepTarget;

  void InitMemory();
  Step RunOp(const Op& op);
  Step LoadCr3(uint64_t cr3);
  Step RunAccess(uint64_t gva, model::AccessKind kind, int width,
                 uint64_t value, bool user);
  Step EmulatedWrite(uint64_t gpa, std::span<const uint8_t> bytes);
  Step Invlpg(uint64_t gva);
  Step SetControl(ControlBit bit, bool value);
  Step Invpcid(uint32_t type, uint32_t pcid, uint64_t gva);

  // The checks after an op: the MMU's own error, then the oracle's.
  std::optional<Divergence> Compare(int index, const Step& step);
  std::optional<Divergence> CheckMmuError(int index, const Step& step);
  Oracle& OracleFor(OracleKind kind);

  std::optional<host::HostWalkTrace> MmuView(uint64_t gva);

  // The run under way.
  const Case* case_ = nullptr;
  host::GuestMmu* mmu_ = nullptr;
  model::GuestMemory memory_;
  model::Reference reference_;
  host::HostCpu cpu_;
  MemoryDiffer memory_differ_;
  // The run's oracle, kept for the next run with the same kind.
  OracleKind oracle_kind_ = ORACLE_STRICT;
  std::unique_ptr<Oracle> oracle_;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_RUNNER_H_
