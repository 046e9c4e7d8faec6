#include "model/reference.h"

#include <array>
#include <optional>

#include "model/access_rights.h"
#include "model/accessed_dirty.h"
#include "model/control_registers.h"
#include "model/pdpte.h"

namespace shadowdiff::model {
namespace {

PagingState InitialState(const Setup& setup) {
  PagingState state;
  state.mode = setup.mode();
  state.cr0_wp = setup.cr0_wp();
  state.cr4_pse = setup.cr4_pse();
  state.efer_nxe = setup.efer_nxe();
  state.gbpages = setup.gbpages();
  state.cr4_pge = setup.cr4_pge();
  state.cr4_pcide = setup.cr4_pcide();
  return state;
}

void SetControlBit(PagingState& state, ControlBit bit, bool value) {
  if (bit == CR0_WP) state.cr0_wp = value;
  if (bit == EFER_NXE) state.efer_nxe = value;
  if (bit == CR4_PSE) state.cr4_pse = value;
  if (bit == CR4_PGE) state.cr4_pge = value;
  if (bit == CR4_PCIDE) state.cr4_pcide = value;
}

}  // namespace

Reference::Reference(GuestMemory& memory, const Setup& setup)
    : memory_(memory), state_(InitialState(setup)) {}

void Reference::Reset(const Setup& setup) { state_ = InitialState(setup); }

// The walk, with its A and D updates (SDM 4.8), comes before the data access
// it translates: a load of a paging entry sees them and a store to one
// overwrites them.
AccessResult Reference::Access(uint64_t gva, AccessKind kind, int width,
                               uint64_t value, bool user) {
  AccessResult result;
  result.walk = WalkOf(gva);
  if (std::optional<uint32_t> error =
          AccessFault(result.walk, state_, kind, user)) {
    result.kind = AccessResult::Kind::kPageFault;
    result.error_code = *error;
    result.cr2 = gva;  // SDM 4.7
    result.optional_accessed_entries = OptionalAccessedEntries(result.walk);
    return result;
  }
  // The translation succeeded, so A/D are set even if it leads to MMIO.
  SetAccessedDirty(memory_, state_, result.walk, kind);
  result.gpa = result.walk.gpa;
  const std::optional<uint64_t> hpa = memory_.HostAddress(result.gpa);
  if (!hpa.has_value()) {
    result.kind = AccessResult::Kind::kMmio;
    return result;
  }
  result.hpa = *hpa;
  if (kind == AccessKind::kRead) {
    result.value = ReadLittleEndian(memory_, result.gpa, width).value_or(0);
  }
  if (kind == AccessKind::kWrite) {
    WriteLittleEndian(memory_, result.gpa, width, value);
  }
  return result;
}

// SDM 4.4.1: with PAE paging, MOV to CR3 loads the PDPTE registers, and a
// present PDPTE with a reserved bit is #GP with nothing changed. The other
// modes read nothing at a CR3 load. Bit 63 of the source is never loaded.
bool Reference::LoadCr3(uint64_t source) {
  if (Cr3SourceFaults(state_, source)) return false;
  const uint64_t cr3 = source & ~kCr3NoFlushBit;
  if (state_.mode == PAGING_PAE) {
    const std::optional<std::array<uint64_t, 4>> pdptes =
        LoadPdptes(memory_, cr3);
    if (!pdptes.has_value()) return false;
    state_.pdptes = *pdptes;
  }
  state_.cr3 = cr3;
  return true;
}

bool Reference::SetControl(ControlBit bit, bool value) {
  PagingState next = state_;
  SetControlBit(next, bit, value);
  if (ControlChangeFaults(state_, next)) return false;
  if (ControlChangeReloadsPdptes(state_, next)) {
    const std::optional<std::array<uint64_t, 4>> pdptes =
        LoadPdptes(memory_, next.cr3);
    if (!pdptes.has_value()) return false;
    next.pdptes = *pdptes;
  }
  state_ = next;
  return true;
}

void Reference::WritePhysical(uint64_t gpa, std::span<const uint8_t> bytes) {
  memory_.Write(gpa, bytes);
}

void Reference::Invlpg(uint64_t gva) {}

bool Reference::Invpcid(uint32_t type, uint32_t pcid, uint64_t gva) {
  return !InvpcidFaults(state_, type, pcid);
}

WalkResult Reference::WalkOf(uint64_t gva) const {
  return Walk(memory_, state_, gva);
}

}  // namespace shadowdiff::model
