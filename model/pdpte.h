#ifndef SHADOWDIFF_MODEL_PDPTE_H_
#define SHADOWDIFF_MODEL_PDPTE_H_

#include <array>
#include <cstdint>
#include <optional>

#include "model/paging_state.h"
#include "model/physical_memory.h"

namespace shadowdiff::model {

// Where PAE PDPTE `index` (0..3) is loaded from under `cr3`: the 32-byte
// aligned table at CR3[31:5] (SDM 4.4.1).
uint64_t PdpteAddress(uint64_t cr3, uint64_t index);

// The four PDPTEs as a load under `cr3` reads them (SDM 4.4.1); nullopt when
// a present PDPTE sets a reserved bit, which is #GP with the registers left
// as they were. A PDPT outside RAM reads as four not-present PDPTEs.
std::optional<std::array<uint64_t, 4>> LoadPdptes(const PhysicalMemory& memory,
                                                  uint64_t cr3);

// Whether a control change from `before` to `after` reloads the PDPTEs: with
// PAE paging, MOV to CR4 reloads them when it changes CR4.PSE or CR4.PGE
// (SDM 4.4.1). CR0.WP and IA32_EFER.NXE changes do not.
bool ControlChangeReloadsPdptes(const PagingState& before,
                                const PagingState& after);

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_PDPTE_H_
