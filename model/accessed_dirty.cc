#include "model/accessed_dirty.h"

#include "model/entry_bits.h"
#include "model/paging_mode.h"

namespace shadowdiff::model {
namespace {

using entry_bits::kAccessed;
using entry_bits::kDirty;

// SDM 4.8: A is set in every entry used; D only in the entry that maps the
// page, and only for a write.
uint64_t FlagsToSet(const WalkResult& walk, size_t index, AccessKind kind) {
  const bool leaf = index + 1 == walk.levels.size();
  return kAccessed | (leaf && kind == AccessKind::kWrite ? kDirty : 0);
}

// The processor updates an entry only when a flag it must set is still 0, so
// an access over entries that already have them writes no memory.
void SetFlags(PhysicalMemory& memory, uint64_t gpa, int entry_bytes,
              uint64_t flags) {
  const uint64_t entry = ReadLittleEndian(memory, gpa, entry_bytes).value_or(0);
  if ((entry & flags) != flags) {
    WriteLittleEndian(memory, gpa, entry_bytes, entry | flags);
  }
}

}  // namespace

void SetAccessedDirty(PhysicalMemory& memory, const PagingState& state,
                      const WalkResult& walk, AccessKind kind,
                      uint32_t levels_read) {
  const int entry_bytes = ModeInfo(state.mode).entry_bytes;
  for (size_t i = 0; i < walk.levels.size(); ++i) {
    if (!HasRightsAndAccessedFlag(walk.levels[i])) continue;
    if ((levels_read >> i & 1) == 0) continue;
    SetFlags(memory, walk.levels[i].entry_gpa, entry_bytes,
             FlagsToSet(walk, i, kind));
  }
}

EntryGpas OptionalAccessedEntries(const WalkResult& walk,
                                  uint32_t levels_read) {
  EntryGpas gpas;
  // The faulting entry is the last one the walk used, for every kind of fault.
  for (size_t i = 0; i + 1 < walk.levels.size(); ++i) {
    if ((levels_read >> i & 1) == 0) continue;
    const WalkLevel& level = walk.levels[i];
    if (HasRightsAndAccessedFlag(level) && (level.value & kAccessed) == 0) {
      gpas.push_back(level.entry_gpa);
    }
  }
  return gpas;
}

}  // namespace shadowdiff::model
