#include "model/invalidation.h"

#include "model/control_registers.h"

namespace shadowdiff::model {
namespace {

bool Covers(uint64_t base, uint64_t size, uint64_t gva) {
  return gva - base < size;
}

}  // namespace

// SDM 4.10.4.1. INVLPG: "any TLB entries that are for a page number
// corresponding to the linear address and that are associated with the
// current PCID", "any global TLB entries with that page number, regardless of
// PCID". A page fault invalidates the page's entries associated with the
// current PCID, global ones included; a global entry another PCID made is
// not said to go, so it may stay (the wider reading: an oracle must not call
// legal behaviour a bug). INVPCID type 0 keeps global entries.
bool InvalidatesTlbEntry(const Invalidation& inv, const TlbEntryKey& entry) {
  const bool same_page = Covers(entry.page_base, entry.page_size, inv.gva);
  switch (inv.kind) {
    case Invalidation::Kind::kInvlpg:
      return same_page && (entry.global || entry.pcid == inv.pcid);
    case Invalidation::Kind::kPageFault:
      return same_page && entry.pcid == inv.pcid;
    case Invalidation::Kind::kInvpcidAddress:
      return same_page && !entry.global && entry.pcid == inv.pcid;
    case Invalidation::Kind::kContext:
      return !entry.global && entry.pcid == inv.pcid;
    case Invalidation::Kind::kAllButGlobal:
      return !entry.global;
    case Invalidation::Kind::kAll:
      return true;
  }
  return true;
}

// SDM 4.10.4.1. INVLPG "invalidates all entries in all paging-structure
// caches associated with the current PCID, regardless of the linear
// addresses"; a page fault only those "that would be used for that linear
// address"; INVPCID type 0 the mappings for the address. Paging-structure
// caches have no global entries: MOV to CR3 and INVPCID type 1 clear the
// PCID's, types 2 and 3 every PCID's.
bool InvalidatesPscEntry(const Invalidation& inv, const PscEntryKey& entry) {
  switch (inv.kind) {
    case Invalidation::Kind::kInvlpg:
    case Invalidation::Kind::kContext:
      return entry.pcid == inv.pcid;
    case Invalidation::Kind::kPageFault:
    case Invalidation::Kind::kInvpcidAddress:
      return entry.pcid == inv.pcid &&
             Covers(entry.region_base, entry.region_size, inv.gva);
    case Invalidation::Kind::kAllButGlobal:
    case Invalidation::Kind::kAll:
      return true;
  }
  return true;
}

Invalidation InvlpgInvalidation(const PagingState& state, uint64_t gva) {
  return {.kind = Invalidation::Kind::kInvlpg,
          .pcid = CurrentPcid(state),
          .gva = gva};
}

// SDM 4.10.4.1, MOV to CR3: with CR4.PCIDE=0 all entries for PCID 000H but
// global ones; with CR4.PCIDE=1 and bit 63 clear, those of the PCID in bits
// 11:0 of the source; with bit 63 set, none.
std::optional<Invalidation> Cr3LoadInvalidation(const PagingState& before,
                                                uint64_t source) {
  if (Cr3LoadKeepsCaches(before, source)) return std::nullopt;
  PagingState after = before;
  after.cr3 = source & ~kCr3NoFlushBit;
  return Invalidation{.kind = Invalidation::Kind::kContext,
                      .pcid = CurrentPcid(after)};
}

// SDM 4.10.4.1, MOV to CR4: "all TLB entries (including global entries) and
// all entries in all paging-structure caches (for all PCIDs) if (1) it
// changes the value of CR4.PGE; or (2) it changes the value of the CR4.PCIDE
// from 1 to 0".
std::optional<Invalidation> ControlChangeInvalidation(
    const PagingState& before, const PagingState& after) {
  const bool pge_changes = before.cr4_pge != after.cr4_pge;
  const bool pcide_cleared = before.cr4_pcide && !after.cr4_pcide;
  if (!pge_changes && !pcide_cleared) return std::nullopt;
  return Invalidation{.kind = Invalidation::Kind::kAll};
}

// SDM 4.10.4.1, INVPCID: type 0 individual address, 1 single context, 2 all
// contexts with global translations, 3 all contexts but global ones.
Invalidation InvpcidInvalidation(uint32_t type, uint32_t pcid, uint64_t gva) {
  switch (type) {
    case 0:
      return {.kind = Invalidation::Kind::kInvpcidAddress,
              .pcid = pcid,
              .gva = gva};
    case 1:
      return {.kind = Invalidation::Kind::kContext, .pcid = pcid};
    case 2:
      return {.kind = Invalidation::Kind::kAll};
    default:
      return {.kind = Invalidation::Kind::kAllButGlobal};
  }
}

// SDM 4.10.4.1: "a page-fault exception ... will invalidate any PML4-cache,
// PDPTE-cache, and PDE-cache entries that would be used for that linear
// address as well as any TLB entry for that address's page number", so that
// a fault a stale entry caused does not recur.
Invalidation PageFaultInvalidation(const PagingState& state, uint64_t gva) {
  return {.kind = Invalidation::Kind::kPageFault,
          .pcid = CurrentPcid(state),
          .gva = gva};
}

}  // namespace shadowdiff::model
