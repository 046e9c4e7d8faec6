#ifndef SHADOWDIFF_MODEL_PAGING_MODE_H_
#define SHADOWDIFF_MODEL_PAGING_MODE_H_

#include <cstdint>

#include "proto/case.pb.h"

namespace shadowdiff::model {

// The shape of one paging mode (SDM 4.1.1 table 4-1, 4.2 table 4-2): how many
// levels, how wide an entry is, and which linear-address bits index each
// table. The walker (walk.cc) is a single loop over this description, so the
// three modes differ only here and in their reserved bits.
//
// Levels are numbered as in walk.h: level 1 is the page table, the top level
// is `levels`. Every level below the top is indexed by `index_bits` bits; the
// top may use fewer (PAE's page-directory-pointer table has 4 entries).
struct PagingModeInfo {
  int levels = 0;
  int entry_bytes = 0;
  int index_bits = 0;
  int top_index_bits = 0;
  // PAE: the top level is the four PDPTE registers, not a table in memory.
  bool top_in_registers = false;
  // The CR3 bits that locate the top table (SDM 4.3, 4.4.1, 4.5).
  uint64_t cr3_table_mask = 0;
  // The entry bits that hold a physical address: 31:12 for 4-byte entries,
  // MAXPHYADDR-1:12 for 8-byte ones.
  uint64_t frame_mask = 0;
};

const PagingModeInfo& ModeInfo(PagingMode mode);

// The lowest linear-address bit that indexes the table at `level`; it is also
// log2 of the bytes an entry at `level` maps when it maps a page.
int IndexShift(const PagingModeInfo& mode, int level);

// The index into the table at `level` that `gva` selects.
uint64_t TableIndex(const PagingModeInfo& mode, int level, uint64_t gva);

// Bytes mapped by an entry at `level` that maps a page: 4 KB, 2 MB, 4 MB or
// 1 GB.
uint64_t PageSizeAt(const PagingModeInfo& mode, int level);

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_PAGING_MODE_H_
