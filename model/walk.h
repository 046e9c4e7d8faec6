#ifndef SHADOWDIFF_MODEL_WALK_H_
#define SHADOWDIFF_MODEL_WALK_H_

#include <cstdint>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "model/paging_state.h"
#include "model/physical_memory.h"

namespace shadowdiff::model {

// One paging-structure entry the walk used. For PAE the first level is the
// PDPTE register (entry_gpa is where it was loaded from; it has no A bit).
struct WalkLevel {
  int level = 0;  // 4 = PML4 ... 1 = PT (PAE PDPTE is level 3)
  uint64_t entry_gpa = 0;
  uint64_t value = 0;
  bool from_register = false;  // a PAE PDPTE register, not read from memory

  bool operator==(const WalkLevel&) const = default;
};

// The side-effect-free walk of one linear address (SDM 4.3, 4.4, 4.5).
struct WalkResult {
  enum class Status { kOk, kNotPresent, kReserved };
  Status status = Status::kOk;
  int fault_level = 0;  // the level whose entry faulted
  // Root first; includes the faulting entry. Inline: walks are the hot path
  // of every access and audit, and never have more than four levels.
  absl::InlinedVector<WalkLevel, 4> levels;
  // Valid when status == kOk:
  uint64_t gpa = 0;
  uint64_t page_size = 0;     // 4 KB, 2 MB, 4 MB or 1 GB
  bool writable = false;      // R/W=1 at every level (SDM 4.6)
  bool user = false;          // U/S=1 at every level
  bool nx = false;            // XD=1 at some level (only with EFER.NXE=1)
  bool all_accessed = false;  // A=1 in every entry that has an A bit
  bool dirty = false;         // D=1 in the leaf
  bool global = false;        // G=1 in the leaf with CR4.PGE=1 (SDM 4.10.2.4)
};

// Whether the entry has R/W, U/S, XD and A bits. A PAE PDPTE register has
// none: it controls no access rights (SDM 4.6) and has no accessed flag
// (SDM 4.8); those bits are reserved in it.
bool HasRightsAndAccessedFlag(const WalkLevel& level);

// Walks gva through the guest tables in memory under state, changing nothing.
WalkResult Walk(const PhysicalMemory& memory, const PagingState& state,
                uint64_t gva);

// The pieces of Walk, for walks whose levels are read at different times
// (model/translation_cache.h): the top table CR3 locates, the entry of `level`
// for gva in `table` (a PDPTE register for PAE's top level), and one step
// that appends `entry` to `walk` and returns the next table, or nullopt when
// the entry ends the walk (status, gpa and summary then filled in).
uint64_t RootTable(const PagingState& state);
WalkLevel FetchEntry(const PhysicalMemory& memory, const PagingState& state,
                     uint64_t table, int level, uint64_t gva);
std::optional<uint64_t> Step(const PagingState& state, uint64_t gva,
                             const WalkLevel& entry, WalkResult& walk);

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_WALK_H_
