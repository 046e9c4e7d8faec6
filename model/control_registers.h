#ifndef SHADOWDIFF_MODEL_CONTROL_REGISTERS_H_
#define SHADOWDIFF_MODEL_CONTROL_REGISTERS_H_

#include <cstdint>

#include "model/paging_state.h"

namespace shadowdiff::model {

// Bit 63 of a MOV to CR3 source (SDM 4.10.4.1).
inline constexpr uint64_t kCr3NoFlushBit = uint64_t{1} << 63;

// The PCID translations are cached under now (SDM 4.10.1): CR3[11:0] with
// CR4.PCIDE=1, 000H otherwise.
uint32_t CurrentPcid(const PagingState& state);

// Whether MOV to CR3 of `source` is #GP before anything else is checked: bit
// 63 set with CR4.PCIDE=0 is a reserved bit of CR3 (SDM Vol. 2B, MOV to/from
// control registers; SDM 4.5).
bool Cr3SourceFaults(const PagingState& state, uint64_t source);

// Whether a MOV to CR3 of `source` leaves the TLBs and paging-structure
// caches alone: bit 63 set with CR4.PCIDE=1 (SDM 4.10.4.1).
bool Cr3LoadKeepsCaches(const PagingState& state, uint64_t source);

// Whether the control change from `before` to `after` is #GP: setting
// CR4.PCIDE outside IA-32e mode or while CR3[11:0] is not 000H (SDM 4.10.1;
// Vol. 2B, MOV to control registers).
bool ControlChangeFaults(const PagingState& before, const PagingState& after);

// Whether INVPCID of `type` for `pcid` is #GP: with CR4.PCIDE=0 a type 0 or 1
// may name PCID 000H only (SDM Vol. 2B, INVPCID). Types are 0..3 and the
// address canonical by the case format.
bool InvpcidFaults(const PagingState& state, uint32_t type, uint32_t pcid);

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_CONTROL_REGISTERS_H_
