#ifndef SHADOWDIFF_MODEL_INVALIDATION_H_
#define SHADOWDIFF_MODEL_INVALIDATION_H_

#include <cstdint>
#include <optional>

#include "model/paging_state.h"

namespace shadowdiff::model {

// One operation that invalidates TLB and paging-structure-cache entries (SDM
// 4.10.4.1), at the version of the history it happened at.
struct Invalidation {
  enum class Kind {
    kInvlpg,          // INVLPG of gva in `pcid` (the current one)
    kPageFault,       // a #PF on gva in `pcid` (SDM 4.10.4.1, last item)
    kInvpcidAddress,  // INVPCID type 0 of gva in `pcid`
    kContext,         // MOV to CR3 flushing `pcid`, INVPCID type 1
    kAllButGlobal,    // INVPCID type 3
    kAll,             // CR4.PGE change, CR4.PCIDE 1 -> 0, INVPCID type 2
  };
  Kind kind = Kind::kAll;
  uint64_t version = 0;
  uint32_t pcid = 0;
  uint64_t gva = 0;
};

// A TLB entry (SDM 4.10.2): a translation of the page at page_base (a page of
// page_size bytes, even when the processor keeps it as several 4 KB entries,
// SDM 4.10.2.3), made under `pcid`, global or not.
struct TlbEntryKey {
  uint32_t pcid = 0;
  bool global = false;
  uint64_t page_base = 0;
  uint64_t page_size = 0;
};

// A paging-structure-cache entry (SDM 4.10.3): what the entry at `level`
// (2..4, one that references a table) gave for the region of `region_size`
// bytes at region_base that it covers, made under `pcid`.
struct PscEntryKey {
  uint32_t pcid = 0;
  int level = 0;
  uint64_t region_base = 0;
  uint64_t region_size = 0;
};

bool InvalidatesTlbEntry(const Invalidation& inv, const TlbEntryKey& entry);
bool InvalidatesPscEntry(const Invalidation& inv, const PscEntryKey& entry);

// What each operation invalidates, given the state before it; nullopt: none.
// INVLPG: the page in the current PCID and its global entries in every
// PCID, and all paging-structure caches of the current PCID.
Invalidation InvlpgInvalidation(const PagingState& state, uint64_t gva);
// MOV to CR3 of `source` from state `before`: the new PCID's non-global
// entries and caches, none with the no-flush bit.
std::optional<Invalidation> Cr3LoadInvalidation(const PagingState& before,
                                                uint64_t source);
// MOV to CR4: everything when CR4.PGE changes or CR4.PCIDE goes 1 -> 0.
// (Changing CR4.PAE or setting CR4.SMEP also invalidate, but the case format
// changes neither; CR0.WP, CR4.PSE and IA32_EFER.NXE changes invalidate
// nothing.)
std::optional<Invalidation> ControlChangeInvalidation(const PagingState& before,
                                                      const PagingState& after);
Invalidation InvpcidInvalidation(uint32_t type, uint32_t pcid, uint64_t gva);
// A page fault on gva: the TLB entries for its page and the caches' entries
// for the address, in the current PCID.
Invalidation PageFaultInvalidation(const PagingState& state, uint64_t gva);

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_INVALIDATION_H_
