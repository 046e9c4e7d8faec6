#ifndef SHADOWDIFF_FUZZ_ORACLE_H_
#define SHADOWDIFF_FUZZ_ORACLE_H_

#include <memory>
#include <optional>
#include <string_view>

#include "fuzz/divergence.h"
#include "fuzz/memory_differ.h"
#include "fuzz/step.h"
#include "host/guest_mmu.h"
#include "host/host_cpu.h"
#include "model/guest_memory.h"
#include "model/reference.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// The parts of a run an oracle judges, owned by the runner.
struct RunContext {
  model::GuestMemory& memory;   // the reference's guest memory
  model::Reference& reference;  // the reference processor (current tables)
  host::HostCpu& cpu;           // the host running the MMU under test
  MemoryDiffer& differ;         // the two guest memories, compared
};

// What the MMU under test may do: after each op, whether its outcome, the
// guest memory and the host translations are among what the reference
// allows (docs/semantics.md, "Oracles").
class Oracle {
 public:
  virtual ~Oracle() = default;

  // A new case on `mmu`: memory filled in, the reference reset, before the
  // initial CR3 load.
  virtual void Begin(host::GuestMmu& mmu) = 0;

  // After op `index` ran on both sides (kSetupOp: the initial CR3 load): the
  // first thing the oracle does not allow. An oracle may bring the reference
  // into line with what the MMU did, where the SDM allows several results.
  virtual std::optional<Divergence> Check(int index, const Step& step) = 0;
};

std::unique_ptr<Oracle> MakeOracle(OracleKind kind, RunContext context);

// "strict", "architectural".
std::string_view OracleName(OracleKind kind);
std::optional<OracleKind> OracleFromName(std::string_view name);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_ORACLE_H_
