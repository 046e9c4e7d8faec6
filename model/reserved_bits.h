#ifndef SHADOWDIFF_MODEL_RESERVED_BITS_H_
#define SHADOWDIFF_MODEL_RESERVED_BITS_H_

#include <cstdint>

#include "model/paging_state.h"

namespace shadowdiff::model {

// The bits that must be 0 in a present entry at `level` under `state`; the
// mask depends on the entry's own PS bit. Reserved bits are only checked when
// P=1: a not-present entry ignores every other bit (SDM 4.3, 4.4.2, 4.5).
uint64_t ReservedBits(const PagingState& state, int level, uint64_t entry);

// The reserved bits of a present PAE PDPTE (SDM 4.4.1 table 4-8): unlike the
// other PAE entries it has no R/W, U/S, A or XD, so those bits are reserved
// too, whatever IA32_EFER.NXE says.
uint64_t PaePdpteReservedBits();

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_RESERVED_BITS_H_
