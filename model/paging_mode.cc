#include "model/paging_mode.h"

#include "model/entry_bits.h"
#include "proto/limits.h"

namespace shadowdiff::model {
namespace {

using entry_bits::Bits;

constexpr int kMaxPhysAddr = limits::kGuestMaxPhysAddrBits;

// SDM 4.3: a 1024-entry page directory at CR3[31:12] indexed by bits 31:22,
// then a 1024-entry page table indexed by bits 21:12.
constexpr PagingModeInfo k32Bit = {
    .levels = 2,
    .entry_bytes = 4,
    .index_bits = 10,
    .top_index_bits = 10,
    .top_in_registers = false,
    .cr3_table_mask = Bits(31, 12),
    .frame_mask = Bits(31, 12),
};

// SDM 4.4.1, 4.4.2: four PDPTE registers loaded from CR3[31:5] and selected
// by bits 31:30, then 512-entry tables indexed by bits 29:21 and 20:12.
constexpr PagingModeInfo kPae = {
    .levels = 3,
    .entry_bytes = 8,
    .index_bits = 9,
    .top_index_bits = 2,
    .top_in_registers = true,
    .cr3_table_mask = Bits(31, 5),
    .frame_mask = Bits(kMaxPhysAddr - 1, 12),
};

// SDM 4.5: four levels of 512-entry tables, the PML4 table at
// CR3[MAXPHYADDR-1:12], indexed by bits 47:39, 38:30, 29:21 and 20:12.
constexpr PagingModeInfo k4Level = {
    .levels = 4,
    .entry_bytes = 8,
    .index_bits = 9,
    .top_index_bits = 9,
    .top_in_registers = false,
    .cr3_table_mask = Bits(kMaxPhysAddr - 1, 12),
    .frame_mask = Bits(kMaxPhysAddr - 1, 12),
};

}  // namespace

const PagingModeInfo& ModeInfo(PagingMode mode) {
  if (mode == PAGING_32BIT) return k32Bit;
  if (mode == PAGING_PAE) return kPae;
  return k4Level;
}

int IndexShift(const PagingModeInfo& mode, int level) {
  return 12 + (level - 1) * mode.index_bits;
}

uint64_t TableIndex(const PagingModeInfo& mode, int level, uint64_t gva) {
  const int bits = level == mode.levels ? mode.top_index_bits : mode.index_bits;
  return (gva >> IndexShift(mode, level)) & ((uint64_t{1} << bits) - 1);
}

uint64_t PageSizeAt(const PagingModeInfo& mode, int level) {
  return uint64_t{1} << IndexShift(mode, level);
}

}  // namespace shadowdiff::model
