#ifndef SHADOWDIFF_MODEL_ACCESSED_DIRTY_H_
#define SHADOWDIFF_MODEL_ACCESSED_DIRTY_H_

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "model/paging_state.h"
#include "model/physical_memory.h"
#include "model/walk.h"

namespace shadowdiff::model {

// After a successful access over `walk` (SDM 4.8): sets A in every entry of
// the walk that has one (PAE PDPTEs do not), and D in the leaf for a write.
// Each entry is read again before it is updated, so one entry serving at two
// levels keeps both updates.
//
// levels_read: bit i set when walk.levels[i] is read by this access. A walk
// that starts from a paging-structure-cache entry (SDM 4.10.3.2) reads, and
// so updates, only the levels below it.
inline constexpr uint32_t kEveryLevel = ~0u;
void SetAccessedDirty(PhysicalMemory& memory, const PagingState& state,
                      const WalkResult& walk, AccessKind kind,
                      uint32_t levels_read = kEveryLevel);

// After a faulting access over `walk`: the gpas, root first, of the entries
// above the faulting one (the leaf, for a rights fault) whose A bit is 0 and
// which the processor may have set on its way down (SDM 4.8). An A bit that
// is already 1 cannot change, so it is not listed. At most one per level.
using EntryGpas = absl::InlinedVector<uint64_t, 4>;
EntryGpas OptionalAccessedEntries(const WalkResult& walk,
                                  uint32_t levels_read = kEveryLevel);

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_ACCESSED_DIRTY_H_
