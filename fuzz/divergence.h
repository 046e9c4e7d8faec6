#ifndef SHADOWDIFF_FUZZ_DIVERGENCE_H_
#define SHADOWDIFF_FUZZ_DIVERGENCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/outcome.h"
#include "host/host_walker.h"
#include "model/walk.h"

namespace shadowdiff {

enum class DivergenceKind {
  kOutcome,     // an op's result differs (value, hpa, fault, error code, #GP)
  kMemory,      // guest memory differs where the SDM allows one value only
  kMapping,     // a host mapping translates a gva other than the guest does
  kRights,      // a host mapping allows more than the guest's entries do
  kUnaccessed,  // a host mapping exists though guest A (or D) bits are clear
  kStaleTlb,    // a host TLB entry fails the same audit
  kLivelock,    // an access kept faulting without progress
  kMmuError,    // the MMU reported an internal error or failed to start
};

std::string_view KindName(DivergenceKind kind);
std::optional<DivergenceKind> KindFromName(std::string_view name);

// Where an op index points when the divergence is not at an op.
inline constexpr int kSetupOp = -1;  // loading the initial CR3
// (ops_size() means the final full memory comparison.)

struct Divergence {
  DivergenceKind kind = DivergenceKind::kOutcome;
  int op_index = 0;
  uint64_t gva = 0;
  uint64_t gpa = 0;
  std::string summary;  // one line: what differs
  Outcome reference;
  Outcome mmu;
  std::optional<model::WalkResult> reference_walk;
  std::optional<host::HostWalkTrace> mmu_view;
  std::string detail;  // further lines (memory bytes, audit specifics)
};

// A divergence of `kind` at op `op_index` and gva, with its one-line summary;
// the rest is the caller's to fill in.
Divergence MakeDivergence(DivergenceKind kind, int op_index, uint64_t gva,
                          std::string summary);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_DIVERGENCE_H_
