#ifndef SHADOWDIFF_FUZZ_STEP_H_
#define SHADOWDIFF_FUZZ_STEP_H_

#include <cstdint>
#include <optional>

#include "fuzz/outcome.h"
#include "model/accessed_dirty.h"
#include "model/paging_state.h"
#include "model/walk.h"

namespace shadowdiff {

// One op as both sides ran it: what the oracle judges (fuzz/oracle.h).
struct Step {
  enum class Kind {
    kNone,
    kAccess,
    kWrite,
    kInvlpg,
    kLoadCr3,
    kSetControl,
    kInvpcid
  };
  Kind kind = Kind::kNone;
  Outcome reference;
  Outcome mmu;
  uint64_t gva = 0;
  uint64_t gpa = 0;
  // The reference state before the op.
  model::PagingState before;
  // Accesses: the op, and the reference's walk of the current tables.
  model::AccessKind access = model::AccessKind::kRead;
  int width = 0;
  uint64_t value = 0;
  bool user = false;
  std::optional<model::WalkResult> walk;
  model::EntryGpas optional_accessed_entries;
  int host_faults = 0;
  // load_cr3: the MOV source (no-flush bit included); invpcid: its operands.
  uint64_t cr3_source = 0;
  uint32_t invpcid_type = 0;
  uint32_t pcid = 0;

  bool is_access() const { return kind == Kind::kAccess; }
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_STEP_H_
