#ifndef SHADOWDIFF_HOST_SPTE_H_
#define SHADOWDIFF_HOST_SPTE_H_

#include <cstdint>

// The host's page-table format: 64-bit entries, 512 per 4 KB table, as the host
// walker reads them. The host runs with CR0.WP=1 and EFER.NXE=1, and its
// MAXPHYADDR is 46: bits 51:46 of a present entry are reserved, which an MMU
// may use to mark MMIO (a host fault with the RSVD bit follows).
namespace shadowdiff::host::spte {

inline constexpr uint64_t kPresent = 1ull << 0;
inline constexpr uint64_t kWritable = 1ull << 1;
inline constexpr uint64_t kUser = 1ull << 2;
inline constexpr uint64_t kAccessed = 1ull << 5;
inline constexpr uint64_t kDirty = 1ull << 6;
inline constexpr uint64_t kPageSize = 1ull << 7;
inline constexpr uint64_t kNx = 1ull << 63;

inline constexpr int kHostMaxPhysAddrBits = 46;
inline constexpr uint64_t kFrameMask =
    ((1ull << kHostMaxPhysAddrBits) - 1) & ~0xFFFull;
inline constexpr uint64_t kReservedMask =
    ((1ull << 52) - 1) & ~((1ull << kHostMaxPhysAddrBits) - 1);

inline constexpr int kEntriesPerTable = 512;

inline uint64_t FrameAddress(uint64_t entry) { return entry & kFrameMask; }
inline bool Present(uint64_t entry) { return (entry & kPresent) != 0; }

}  // namespace shadowdiff::host::spte

#endif  // SHADOWDIFF_HOST_SPTE_H_
