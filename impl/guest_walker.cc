#include "impl/guest_walker.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "host/guest_state.h"
#include "host/host_services.h"
#include "impl/bug_switches.h"
#include "impl/guest_entry.h"
#include "impl/role.h"

namespace shadowdiff::impl {
namespace {

constexpr uint64_t kPdptMask = 0xFFFFFFE0;

// The index of gva in the guest table at `level`.
uint64_t TableIndex(int guest_levels, int level, uint64_t gva) {
  if (guest_levels == 2) return (gva >> (12 + 10 * (level - 1))) & 0x3FF;
  return (gva >> (12 + 9 * (level - 1))) & 0x1FF;
}

uint64_t RootGfn(const host::GuestPagingState& state, int guest_levels) {
  const uint64_t frame_bits = guest_levels == 2 ? 0xFFFFF000 : 0xFFFFFF000;
  return (state.cr3 & frame_bits) >> 12;
}

}  // namespace

GuestWalk GuestWalker::Walk(const host::GuestPagingState& state, uint64_t gva,
                            host::AccessKind kind, bool user) {
  const host::GuestControls& controls = state.controls;
  const int guest_levels = GuestLevels(controls.mode);
  const int entry_bytes = guest_entry::EntryBytes(guest_levels);
  GuestWalk walk;
  std::array<uint64_t, 5> entry_gpa = {};
  Access access = kAccessAll;
  int level = guest_levels;
  uint64_t table_gfn = RootGfn(state, guest_levels);
  uint64_t entry = 0;

  auto fault = [&](uint32_t bits) {
    walk.error_code = bits | AccessErrorBits(controls, kind, user);
    return walk;
  };

  if (guest_levels == 3) {
    // SDM 4.4.1: walks use the PDPTE registers loaded by MOV to CR3, not the
    // PDPT in memory. They grant no rights.
    const int index = static_cast<int>((gva >> 30) & 3);
    walk.table_gfn[3] = table_gfn;
    walk.table_access[3] = kAccessAll;
    entry =
        bugs_.Has(Bug::kPaePdpteReread)
            ? guest_entry::Read(host_, (state.cr3 & kPdptMask) + 8 * index, 8)
            : state.pdptes[index];
    if ((entry & guest_entry::kPresent) == 0) return fault(0);
    table_gfn = guest_entry::TableGfn(entry, guest_levels);
    level = 2;
  }

  for (;; --level) {
    walk.table_gfn[level] = table_gfn;
    walk.table_access[level] = access;
    entry_gpa[level] =
        (table_gfn << 12) + entry_bytes * TableIndex(guest_levels, level, gva);
    entry = guest_entry::Read(host_, entry_gpa[level], entry_bytes);
    if ((entry & guest_entry::kPresent) == 0) return fault(0);
    if (guest_entry::HasReservedBits(entry, level, controls)) {
      return fault(host::kPfPresent | host::kPfReserved);
    }
    access &= guest_entry::EntryAccess(entry, controls);
    if (guest_entry::IsLeaf(entry, level, controls)) break;
    table_gfn = guest_entry::TableGfn(entry, guest_levels);
  }

  if (!AccessAllowed(access, controls, kind, user)) {
    return fault(host::kPfPresent);
  }
  const bool write = kind == host::AccessKind::kWrite;
  SetAccessedDirty(entry_gpa, guest_levels == 3 ? 2 : guest_levels, level,
                   write);
  walk.ok = true;
  walk.gpa = guest_entry::LeafGpa(entry, level, guest_levels, gva);
  walk.leaf_level = level;
  walk.access = access;
  walk.dirty = write || (entry & guest_entry::kDirty) != 0;
  walk.global = controls.cr4_pge && (entry & guest_entry::kGlobal) != 0;
  return walk;
}

void GuestWalker::SetAccessedDirty(const std::array<uint64_t, 5>& entry_gpa,
                                   int top, int leaf_level, bool write) {
  for (int level = top; level >= leaf_level; --level) {
    uint8_t bits = guest_entry::kAccessed;
    if (level == leaf_level && write) bits |= guest_entry::kDirty;
    uint8_t low_byte = 0;
    host_.ReadGuest(entry_gpa[level], std::span<uint8_t>(&low_byte, 1));
    if ((low_byte & bits) == bits) continue;
    low_byte |= bits;
    host_.WriteGuest(entry_gpa[level], std::span<const uint8_t>(&low_byte, 1));
  }
}

std::optional<host::GuestPagingState> StateAfterControlChange(
    const host::HostServices& host, const host::GuestPagingState& state,
    const host::GuestControls& controls) {
  const host::GuestControls& before = state.controls;
  if (controls.cr4_pcide && !before.cr4_pcide &&
      (controls.mode != host::GuestMode::k4Level || (state.cr3 & 0xFFF) != 0)) {
    return std::nullopt;
  }
  host::GuestPagingState next = state;
  next.controls = controls;
  if (controls.mode == host::GuestMode::kPae &&
      (controls.cr4_pse != before.cr4_pse ||
       controls.cr4_pge != before.cr4_pge)) {
    const std::optional<std::array<uint64_t, 4>> pdptes =
        LoadPdptes(host, state.cr3);
    if (!pdptes.has_value()) return std::nullopt;
    next.pdptes = *pdptes;
  }
  return next;
}

std::optional<std::array<uint64_t, 4>> LoadPdptes(
    const host::HostServices& host, uint64_t cr3) {
  std::array<uint64_t, 4> pdptes;
  for (int i = 0; i < 4; ++i) {
    pdptes[i] = guest_entry::Read(host, (cr3 & kPdptMask) + 8 * i, 8);
    if (guest_entry::PdpteHasReservedBits(pdptes[i])) return std::nullopt;
  }
  return pdptes;
}

uint32_t AccessErrorBits(const host::GuestControls& controls,
                         host::AccessKind kind, bool user) {
  uint32_t bits = user ? host::kPfUser : 0;
  if (kind == host::AccessKind::kWrite) bits |= host::kPfWrite;
  // SDM 4.7: I/D is reported only when CR4.PAE=1 and EFER.NXE=1 (no SMEP).
  if (kind == host::AccessKind::kFetch && controls.efer_nxe &&
      controls.mode != host::GuestMode::k32Bit) {
    bits |= host::kPfFetch;
  }
  return bits;
}

bool AccessAllowed(Access access, const host::GuestControls& controls,
                   host::AccessKind kind, bool user) {
  if (user && (access & kAccessUser) == 0) return false;
  switch (kind) {
    case host::AccessKind::kRead:
      return true;
    case host::AccessKind::kWrite:
      // CR0.WP=0 lets supervisor writes ignore R/W.
      return (access & kAccessWrite) != 0 || (!user && !controls.cr0_wp);
    case host::AccessKind::kFetch:
      return (access & kAccessExec) != 0;
  }
  return false;
}

}  // namespace shadowdiff::impl
