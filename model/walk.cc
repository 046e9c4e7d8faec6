#include "model/walk.h"

#include <utility>

#include "model/entry_bits.h"
#include "model/paging_mode.h"
#include "model/pdpte.h"
#include "model/reserved_bits.h"
#include "proto/limits.h"

namespace shadowdiff::model {
namespace {

using entry_bits::Bits;
using entry_bits::kAccessed;
using entry_bits::kDirty;
using entry_bits::kExecuteDisable;
using entry_bits::kGlobal;
using entry_bits::kPageSize;
using entry_bits::kPresent;
using entry_bits::kUser;
using entry_bits::kWritable;

constexpr int kMaxPhysAddr = limits::kGuestMaxPhysAddrBits;

// docs/semantics.md: a paging structure outside RAM reads as zero entries,
// which are not present.
uint64_t ReadEntry(const PhysicalMemory& memory, uint64_t gpa,
                   int entry_bytes) {
  return ReadLittleEndian(memory, gpa, entry_bytes).value_or(0);
}

// Whether a present entry free of reserved bits maps a page rather than
// referencing the next table. SDM 4.3: with 32-bit paging a PDE maps a 4 MB
// page only if CR4.PSE=1; with CR4.PSE=0 its PS bit is ignored. SDM 4.4.2,
// 4.5: PAE and 4-level paging honour PS regardless of CR4.PSE; where PS may
// not be set (PAE PDPTE, PML4E, PDPTE without 1 GB pages) it is a reserved
// bit, so the walk never gets here with it. Bit 7 of a PTE is PAT, not PS.
bool MapsPage(const PagingState& state, int level, uint64_t entry) {
  if (level == 1) return true;
  if ((entry & kPageSize) == 0) return false;
  return state.mode != PAGING_32BIT || state.cr4_pse;
}

// SDM 4.3 table 4-4 (PSE-36): a 4 MB page's gpa bits 31:22 are PDE bits 31:22
// and its gpa bits MAXPHYADDR-1:32 are PDE bits (MAXPHYADDR-20):13.
uint64_t Pse36PageFrame(uint64_t pde) {
  const uint64_t high_bits = kMaxPhysAddr - 32;
  const uint64_t high = (pde >> 13) & ((uint64_t{1} << high_bits) - 1);
  return (pde & Bits(31, 22)) | high << 32;
}

// SDM 4.3, 4.4.2, 4.5: the page's frame is the entry's address bits above the
// page offset; in a large-page entry bit 12 below them is PAT, not address.
uint64_t PageFrame(const PagingState& state, const PagingModeInfo& mode,
                   int level, uint64_t entry) {
  if (state.mode == PAGING_32BIT && level == 2) return Pse36PageFrame(entry);
  return entry & mode.frame_mask & ~(PageSizeAt(mode, level) - 1);
}

// SDM 4.6: 32-bit paging has no XD bit; PAE and 4-level paging honour it only
// with IA32_EFER.NXE = 1 (and then bit 63 is not reserved).
bool ExecuteDisableApplies(const PagingState& state) {
  return state.mode != PAGING_32BIT && state.efer_nxe;
}

// SDM 4.6: a page is writable (user-accessible) only if R/W (U/S) is 1 in
// every entry that controls the translation, and not executable if any of
// them has XD=1. SDM 4.8: what the walk found in the A and D flags.
void SummarizeTranslation(const PagingState& state, WalkResult& walk) {
  walk.writable = true;
  walk.user = true;
  walk.nx = false;
  walk.all_accessed = true;
  for (const WalkLevel& level : walk.levels) {
    if (!HasRightsAndAccessedFlag(level)) continue;
    walk.writable = walk.writable && (level.value & kWritable) != 0;
    walk.user = walk.user && (level.value & kUser) != 0;
    walk.nx = walk.nx || (ExecuteDisableApplies(state) &&
                          (level.value & kExecuteDisable) != 0);
    walk.all_accessed = walk.all_accessed && (level.value & kAccessed) != 0;
  }
  walk.dirty = (walk.levels.back().value & kDirty) != 0;
  // SDM 4.10.2.4: G in the entry that maps the page makes the translation
  // global, with CR4.PGE=1 only; in an entry that references a table it is
  // ignored.
  walk.global = state.cr4_pge && (walk.levels.back().value & kGlobal) != 0;
}

}  // namespace

bool HasRightsAndAccessedFlag(const WalkLevel& level) {
  return !level.from_register;
}

// SDM 4.2: the entry a level uses is the one the linear address indexes in
// that level's table. SDM 4.4.1: with PAE the top level is the PDPTE register
// loaded at the last CR3 load; memory is not read again.
WalkLevel FetchEntry(const PhysicalMemory& memory, const PagingState& state,
                     uint64_t table, int level, uint64_t gva) {
  const PagingModeInfo& mode = ModeInfo(state.mode);
  const uint64_t index = TableIndex(mode, level, gva);
  if (mode.top_in_registers && level == mode.levels) {
    return {.level = level,
            .entry_gpa = PdpteAddress(state.cr3, index),
            .value = state.pdptes[index],
            .from_register = true};
  }
  const uint64_t gpa = table + index * mode.entry_bytes;
  return {.level = level,
          .entry_gpa = gpa,
          .value = ReadEntry(memory, gpa, mode.entry_bytes)};
}

uint64_t RootTable(const PagingState& state) {
  return state.cr3 & ModeInfo(state.mode).cr3_table_mask;
}

// SDM 4.3 (32-bit), 4.4.2 (PAE), 4.5 (4-level): an entry with P=0 ends the
// walk (its other bits do not matter), then an entry with a reserved bit set
// ends it, then an entry that maps a page ends it with a translation; any
// other entry locates the next table.
std::optional<uint64_t> Step(const PagingState& state, uint64_t gva,
                             const WalkLevel& entry, WalkResult& walk) {
  const PagingModeInfo& mode = ModeInfo(state.mode);
  const int level = entry.level;
  walk.levels.push_back(entry);
  if ((entry.value & kPresent) == 0) {
    walk.status = WalkResult::Status::kNotPresent;
    walk.fault_level = level;
    return std::nullopt;
  }
  if ((entry.value & ReservedBits(state, level, entry.value)) != 0) {
    walk.status = WalkResult::Status::kReserved;
    walk.fault_level = level;
    return std::nullopt;
  }
  if (MapsPage(state, level, entry.value)) {
    walk.status = WalkResult::Status::kOk;
    walk.page_size = PageSizeAt(mode, level);
    walk.gpa = PageFrame(state, mode, level, entry.value) |
               (gva & (walk.page_size - 1));
    SummarizeTranslation(state, walk);
    return std::nullopt;
  }
  return entry.value & mode.frame_mask;
}

// From the top level down, one Step per level.
WalkResult Walk(const PhysicalMemory& memory, const PagingState& state,
                uint64_t gva) {
  WalkResult walk;
  uint64_t table = RootTable(state);
  for (int level = ModeInfo(state.mode).levels;; --level) {
    const std::optional<uint64_t> next =
        Step(state, gva, FetchEntry(memory, state, table, level, gva), walk);
    if (!next.has_value()) return walk;
    table = *next;
  }
}

}  // namespace shadowdiff::model
