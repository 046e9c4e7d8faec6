#ifndef SHADOWDIFF_MODEL_PAGING_STATE_H_
#define SHADOWDIFF_MODEL_PAGING_STATE_H_

#include <array>
#include <cstdint>

#include "proto/case.pb.h"

namespace shadowdiff::model {

enum class AccessKind { kRead, kWrite, kFetch };

// Page-fault error code bits (SDM 4.7, figure 4-12).
inline constexpr uint32_t kPfPresent = 1u << 0;
inline constexpr uint32_t kPfWrite = 1u << 1;
inline constexpr uint32_t kPfUser = 1u << 2;
inline constexpr uint32_t kPfReserved = 1u << 3;
inline constexpr uint32_t kPfFetch = 1u << 4;

// The processor state that decides a translation (SDM 4.1): the paging mode,
// the control bits, CR3, and in PAE mode the PDPTE registers (SDM 4.4.1),
// which hold what was read at the last load, not what memory holds now.
struct PagingState {
  PagingMode mode = PAGING_32BIT;
  bool cr0_wp = false;
  bool cr4_pse = false;
  bool efer_nxe = false;
  bool gbpages = false;
  bool cr4_pge = false;
  bool cr4_pcide = false;
  uint64_t cr3 = 0;  // as loaded: bit 63 of the MOV source is never kept
  std::array<uint64_t, 4> pdptes = {};
};

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_PAGING_STATE_H_
