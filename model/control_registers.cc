#include "model/control_registers.h"

namespace shadowdiff::model {

uint32_t CurrentPcid(const PagingState& state) {
  return state.cr4_pcide ? static_cast<uint32_t>(state.cr3 & 0xFFF) : 0;
}

bool Cr3SourceFaults(const PagingState& state, uint64_t source) {
  return (source & kCr3NoFlushBit) != 0 && !state.cr4_pcide;
}

bool Cr3LoadKeepsCaches(const PagingState& state, uint64_t source) {
  return (source & kCr3NoFlushBit) != 0 && state.cr4_pcide;
}

bool ControlChangeFaults(const PagingState& before, const PagingState& after) {
  const bool sets_pcide = after.cr4_pcide && !before.cr4_pcide;
  return sets_pcide &&
         (after.mode != PAGING_4LEVEL || (before.cr3 & 0xFFF) != 0);
}

bool InvpcidFaults(const PagingState& state, uint32_t type, uint32_t pcid) {
  return !state.cr4_pcide && type <= 1 && pcid != 0;
}

}  // namespace shadowdiff::model
