#include "model/reserved_bits.h"

#include "model/entry_bits.h"
#include "proto/limits.h"

namespace shadowdiff::model {
namespace {

using entry_bits::Bits;
using entry_bits::kExecuteDisable;
using entry_bits::kPageSize;

constexpr int kMaxPhysAddr = limits::kGuestMaxPhysAddrBits;

bool MapsLargePage(uint64_t entry) { return (entry & kPageSize) != 0; }

// SDM 4.4.2, 4.5: with IA32_EFER.NXE = 0, the XD bit (63) is reserved.
uint64_t ExecuteDisableReserved(const PagingState& state) {
  return state.efer_nxe ? 0 : kExecuteDisable;
}

// SDM 4.3: 32-bit paging reserves bits only in a 4 MB PDE (CR4.PSE=1, PS=1).
// With PSE-36, bits (MAXPHYADDR-20):13 carry gpa bits MAXPHYADDR-1:32, so the
// bits from there up to 21 are reserved: 21:17 with MAXPHYADDR 36.
uint64_t Reserved32Bit(const PagingState& state, int level, uint64_t entry) {
  if (level == 2 && state.cr4_pse && MapsLargePage(entry)) {
    return Bits(21, kMaxPhysAddr - 19);
  }
  return 0;
}

// SDM 4.4.2 (tables 4-9..4-11): bits 62:MAXPHYADDR of a PAE PDE or PTE are
// reserved (not 51:MAXPHYADDR as in 4-level paging), and a 2 MB PDE reserves
// the frame bits below 21 except PAT (bit 12): 20:13.
uint64_t ReservedPae(const PagingState& state, int level, uint64_t entry) {
  if (level == 3) return PaePdpteReservedBits();
  uint64_t reserved = Bits(62, kMaxPhysAddr) | ExecuteDisableReserved(state);
  if (level == 2 && MapsLargePage(entry)) reserved |= Bits(20, 13);
  return reserved;
}

// SDM 4.5 (tables 4-14..4-19): bits 51:MAXPHYADDR everywhere; PS in a PML4E;
// PS in a PDPTE unless the processor has 1 GB pages (SDM 4.1.4), and then a
// 1 GB PDPTE reserves 29:13; a 2 MB PDE reserves 20:13. PAT (bit 12) stays.
uint64_t Reserved4Level(const PagingState& state, int level, uint64_t entry) {
  uint64_t reserved = Bits(51, kMaxPhysAddr) | ExecuteDisableReserved(state);
  if (level == 4) reserved |= kPageSize;
  if (level == 3 && MapsLargePage(entry)) {
    reserved |= state.gbpages ? Bits(29, 13) : kPageSize;
  }
  if (level == 2 && MapsLargePage(entry)) reserved |= Bits(20, 13);
  return reserved;
}

}  // namespace

uint64_t PaePdpteReservedBits() {
  return Bits(63, kMaxPhysAddr) | Bits(8, 5) | Bits(2, 1);
}

uint64_t ReservedBits(const PagingState& state, int level, uint64_t entry) {
  if (state.mode == PAGING_32BIT) return Reserved32Bit(state, level, entry);
  if (state.mode == PAGING_PAE) return ReservedPae(state, level, entry);
  return Reserved4Level(state, level, entry);
}

}  // namespace shadowdiff::model
