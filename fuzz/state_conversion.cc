#include "fuzz/state_conversion.h"

namespace shadowdiff {

host::GuestMode HostMode(PagingMode mode) {
  switch (mode) {
    case PAGING_PAE:
      return host::GuestMode::kPae;
    case PAGING_4LEVEL:
      return host::GuestMode::k4Level;
    default:
      return host::GuestMode::k32Bit;
  }
}

namespace {

PagingMode ModelMode(host::GuestMode mode) {
  switch (mode) {
    case host::GuestMode::kPae:
      return PAGING_PAE;
    case host::GuestMode::k4Level:
      return PAGING_4LEVEL;
    case host::GuestMode::k32Bit:
      break;
  }
  return PAGING_32BIT;
}

}  // namespace

host::GuestControls HostControls(const model::PagingState& state) {
  return {.mode = HostMode(state.mode),
          .cr0_wp = state.cr0_wp,
          .cr4_pse = state.cr4_pse,
          .efer_nxe = state.efer_nxe,
          .gbpages = state.gbpages,
          .cr4_pge = state.cr4_pge,
          .cr4_pcide = state.cr4_pcide};
}

model::PagingState ModelState(const host::GuestPagingState& state) {
  model::PagingState s;
  s.mode = ModelMode(state.controls.mode);
  s.cr0_wp = state.controls.cr0_wp;
  s.cr4_pse = state.controls.cr4_pse;
  s.efer_nxe = state.controls.efer_nxe;
  s.gbpages = state.controls.gbpages;
  s.cr4_pge = state.controls.cr4_pge;
  s.cr4_pcide = state.controls.cr4_pcide;
  s.cr3 = state.cr3;
  s.pdptes = state.pdptes;
  return s;
}

absl::InlinedVector<host::MemorySlot, limits::kMaxSlots> HostSlots(
    const Setup& setup) {
  absl::InlinedVector<host::MemorySlot, limits::kMaxSlots> slots;
  for (const MemorySlot& s : setup.slots()) {
    slots.push_back({.base_gfn = s.base_gfn(),
                     .pages = s.pages(),
                     .host_frame = s.host_frame()});
  }
  return slots;
}

host::AccessKind HostAccessKind(model::AccessKind kind) {
  switch (kind) {
    case model::AccessKind::kWrite:
      return host::AccessKind::kWrite;
    case model::AccessKind::kFetch:
      return host::AccessKind::kFetch;
    case model::AccessKind::kRead:
      break;
  }
  return host::AccessKind::kRead;
}

model::AccessKind ModelAccessKind(host::AccessKind kind) {
  switch (kind) {
    case host::AccessKind::kWrite:
      return model::AccessKind::kWrite;
    case host::AccessKind::kFetch:
      return model::AccessKind::kFetch;
    case host::AccessKind::kRead:
      break;
  }
  return model::AccessKind::kRead;
}

}  // namespace shadowdiff
