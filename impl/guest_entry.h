#ifndef SHADOWDIFF_IMPL_GUEST_ENTRY_H_
#define SHADOWDIFF_IMPL_GUEST_ENTRY_H_

#include <cstdint>
#include <optional>

#include "host/guest_state.h"
#include "host/host_services.h"
#include "impl/role.h"

// How the guest's paging entries read (SDM 4.3-4.5, with the project's
// choices in docs/semantics.md: guest MAXPHYADDR 36, PSE-36 always there).
// The walker and the in-place update of write emulation both read entries
// through here, so an entry means the same thing to both.
namespace shadowdiff::impl::guest_entry {

inline constexpr uint64_t kPresent = 1ull << 0;
inline constexpr uint64_t kWritable = 1ull << 1;
inline constexpr uint64_t kUser = 1ull << 2;
inline constexpr uint64_t kAccessed = 1ull << 5;
inline constexpr uint64_t kDirty = 1ull << 6;
inline constexpr uint64_t kGlobal = 1ull << 8;
inline constexpr uint64_t kPageSize = 1ull << 7;
inline constexpr uint64_t kNx = 1ull << 63;

// 4 bytes in 32-bit tables, 8 otherwise.
int EntryBytes(int guest_levels);
int EntriesPerTable(int guest_levels);

// Little-endian entry of `bytes` bytes at gpa; a table outside RAM reads as 0.
uint64_t Read(const host::HostServices& host, uint64_t gpa, int bytes);

// Whether a present entry at `level` has a bit set that must be 0.
bool HasReservedBits(uint64_t entry, int level,
                     const host::GuestControls& controls);

// Whether a present entry at `level` without reserved bits maps a page
// (4 KB, 2/4 MB or 1 GB) rather than pointing at a table.
bool IsLeaf(uint64_t entry, int level, const host::GuestControls& controls);

// The gfn of the table a non-leaf entry points at.
uint64_t TableGfn(uint64_t entry, int guest_levels);

// The gpa of gva through a leaf entry at `level`.
uint64_t LeafGpa(uint64_t entry, int level, int guest_levels, uint64_t gva);

// The rights one entry grants.
Access EntryAccess(uint64_t entry, const host::GuestControls& controls);

// What a guest PTE maps when it is the leaf of a walk that reached its table
// with `inherited` rights: only a present, accessed entry without reserved
// bits maps anything (a walk would set A first, or fault), and it is
// writable only once dirty, so the first write faults and sets D. Write
// emulation's in-place update and the sync of an unsync page both build
// their sptes from this, so the two cannot read a PTE differently.
struct PteLeaf {
  uint64_t gfn = 0;
  Access access = 0;
};
std::optional<PteLeaf> ReadPteLeaf(uint64_t pte,
                                   const host::GuestControls& controls,
                                   Access inherited);

// A PAE PDPTE register value that MOV to CR3 refuses (#GP): present with
// bits 2:1, 8:5 or 63:36 set.
bool PdpteHasReservedBits(uint64_t pdpte);

}  // namespace shadowdiff::impl::guest_entry

#endif  // SHADOWDIFF_IMPL_GUEST_ENTRY_H_
