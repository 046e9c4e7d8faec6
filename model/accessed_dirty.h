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
void SetAccessedDirty(PhysicalMemory& memory, const PagingState& state,
                      const WalkResult& walk, AccessKind kind);

// After a faulting access over `walk`: the gpas, root first, of the entries
// above the faulting one (the leaf, for a rights fault) whose A bit is 0 and
// which the processor may have set on its way down (SDM 4.8). An A bit that
// is already 1 cannot change, so it is not listed. At most one per level.
using EntryGpas = absl::InlinedVector<uint64_t, 4>;
EntryGpas OptionalAccessedEntries(const WalkResult& walk);

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_ACCESSED_DIRTY_H_
