#include "model/pdpte.h"

#include "model/entry_bits.h"
#include "model/paging_mode.h"
#include "model/reserved_bits.h"

namespace shadowdiff::model {
namespace {

// SDM 4.4.1: a not-present PDPTE is loaded as it is; only a present one is
// checked for reserved bits.
bool IsValidPdpte(uint64_t pdpte) {
  return (pdpte & entry_bits::kPresent) == 0 ||
         (pdpte & PaePdpteReservedBits()) == 0;
}

}  // namespace

uint64_t PdpteAddress(uint64_t cr3, uint64_t index) {
  const PagingModeInfo& pae = ModeInfo(PAGING_PAE);
  return (cr3 & pae.cr3_table_mask) + index * pae.entry_bytes;
}

std::optional<std::array<uint64_t, 4>> LoadPdptes(const PhysicalMemory& memory,
                                                  uint64_t cr3) {
  const int entry_bytes = ModeInfo(PAGING_PAE).entry_bytes;
  std::array<uint64_t, 4> pdptes = {};
  for (uint64_t i = 0; i < pdptes.size(); ++i) {
    pdptes[i] =
        ReadLittleEndian(memory, PdpteAddress(cr3, i), entry_bytes).value_or(0);
    if (!IsValidPdpte(pdptes[i])) return std::nullopt;
  }
  return pdptes;
}

bool ControlChangeReloadsPdptes(const PagingState& before,
                                const PagingState& after) {
  return after.mode == PAGING_PAE &&
         (before.cr4_pse != after.cr4_pse || before.cr4_pge != after.cr4_pge);
}

}  // namespace shadowdiff::model
