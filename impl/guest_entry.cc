#include "impl/guest_entry.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "host/guest_state.h"
#include "host/host_services.h"
#include "impl/role.h"

namespace shadowdiff::impl::guest_entry {
namespace {

constexpr int kMaxPhysAddrBits = 36;

// Bits high:low set.
constexpr uint64_t Bits(int high, int low) {
  return ((high == 63 ? ~0ull : (1ull << (high + 1)) - 1)) &
         ~((1ull << low) - 1);
}

// Address bits 35:12 of a 64-bit-format entry.
constexpr uint64_t kAddressMask = Bits(kMaxPhysAddrBits - 1, 12);

}  // namespace

int EntryBytes(int guest_levels) { return guest_levels == 2 ? 4 : 8; }

int EntriesPerTable(int guest_levels) { return guest_levels == 2 ? 1024 : 512; }

uint64_t Read(const host::HostServices& host, uint64_t gpa, int bytes) {
  std::array<uint8_t, 8> buffer = {};
  host.ReadGuest(gpa, std::span<uint8_t>(buffer.data(), bytes));
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | buffer[i];
  return value;
}

bool HasReservedBits(uint64_t entry, int level,
                     const host::GuestControls& controls) {
  const bool large = (entry & kPageSize) != 0;
  switch (controls.mode) {
    case host::GuestMode::k32Bit:
      // SDM 4.3: only a 4 MB PDE has reserved bits; with PSE-36 and
      // MAXPHYADDR 36 they are 21:17 (16:13 are address bits 35:32).
      return level == 2 && large && controls.cr4_pse &&
             (entry & Bits(21, 17)) != 0;
    case host::GuestMode::kPae: {
      // SDM 4.4.2: PAE reserves everything from MAXPHYADDR to bit 62.
      uint64_t reserved = Bits(62, kMaxPhysAddrBits);
      if (!controls.efer_nxe) reserved |= kNx;
      if (level == 2 && large) reserved |= Bits(20, 13);
      return (entry & reserved) != 0;
    }
    case host::GuestMode::k4Level: {
      // SDM 4.5.4: bits 51:MAXPHYADDR; 62:52 are ignored.
      uint64_t reserved = Bits(51, kMaxPhysAddrBits);
      if (!controls.efer_nxe) reserved |= kNx;
      if (level == 4) reserved |= kPageSize;
      if (level == 3 && large) {
        reserved |= controls.gbpages ? Bits(29, 13) : kPageSize;
      }
      if (level == 2 && large) reserved |= Bits(20, 13);
      return (entry & reserved) != 0;
    }
  }
  return false;
}

bool IsLeaf(uint64_t entry, int level, const host::GuestControls& controls) {
  if (level == 1) return true;
  if ((entry & kPageSize) == 0) return false;
  // 32-bit paging honours PDE.PS only with CR4.PSE (SDM 4.3); a 4-level
  // PDPTE with PS got here only with 1 GB pages (it is reserved otherwise).
  if (level == 2) {
    return controls.mode != host::GuestMode::k32Bit || controls.cr4_pse;
  }
  return level == 3 && controls.mode == host::GuestMode::k4Level;
}

uint64_t TableGfn(uint64_t entry, int guest_levels) {
  if (guest_levels == 2) return (entry & Bits(31, 12)) >> 12;
  return (entry & kAddressMask) >> 12;
}

uint64_t LeafGpa(uint64_t entry, int level, int guest_levels, uint64_t gva) {
  if (guest_levels == 2) {
    if (level == 1) return (entry & Bits(31, 12)) | (gva & Bits(11, 0));
    // PSE-36: PDE bits 16:13 are gpa bits 35:32.
    return (entry & Bits(31, 22)) | ((entry & Bits(16, 13)) << 19) |
           (gva & Bits(21, 0));
  }
  const int page_shift = 12 + 9 * (level - 1);
  const uint64_t offset_mask = Bits(page_shift - 1, 0);
  return (entry & kAddressMask & ~offset_mask) | (gva & offset_mask);
}

Access EntryAccess(uint64_t entry, const host::GuestControls& controls) {
  Access access = 0;
  if ((entry & kWritable) != 0) access |= kAccessWrite;
  if ((entry & kUser) != 0) access |= kAccessUser;
  // 32-bit entries have no NX bit; with NXE=0 bit 63 never gets this far.
  if (!(controls.mode != host::GuestMode::k32Bit && controls.efer_nxe &&
        (entry & kNx) != 0)) {
    access |= kAccessExec;
  }
  return access;
}

std::optional<PteLeaf> ReadPteLeaf(uint64_t pte,
                                   const host::GuestControls& controls,
                                   Access inherited) {
  if ((pte & kPresent) == 0 || HasReservedBits(pte, 1, controls) ||
      (pte & kAccessed) == 0) {
    return std::nullopt;
  }
  Access access = EntryAccess(pte, controls) & inherited;
  if ((pte & kDirty) == 0) access &= ~kAccessWrite;
  const int guest_levels = GuestLevels(controls.mode);
  return PteLeaf{.gfn = LeafGpa(pte, 1, guest_levels, 0) >> 12,
                 .access = access};
}

bool PdpteHasReservedBits(uint64_t pdpte) {
  // SDM 4.4.1, table 4-8.
  const uint64_t reserved =
      Bits(63, kMaxPhysAddrBits) | Bits(8, 5) | Bits(2, 1);
  return (pdpte & kPresent) != 0 && (pdpte & reserved) != 0;
}

}  // namespace shadowdiff::impl::guest_entry
