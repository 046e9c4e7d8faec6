#include "impl/write_emulation.h"

#include <cstdint>
#include <optional>
#include <span>

#include "absl/container/inlined_vector.h"
#include "host/guest_state.h"
#include "impl/bug_switches.h"
#include "impl/guest_entry.h"
#include "impl/role.h"
#include "impl/shadow_page.h"

namespace shadowdiff::impl {
namespace {

uint64_t LittleEndian(std::span<const uint8_t> bytes) {
  uint64_t value = 0;
  for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
    value = (value << 8) | *it;
  }
  return value;
}

}  // namespace

std::optional<SpteSpan> WrittenSptes(const Role& role, int entry_index,
                                     const BugSet& bugs) {
  if (role.guest_levels != 2) return SpteSpan{entry_index, 1};
  int quadrant = entry_index / kSptesPerPage;
  SpteSpan span = {entry_index % kSptesPerPage, 1};
  if (role.level == 2 && !bugs.Has(Bug::kNonpaePdeSingleZap)) {
    quadrant = entry_index / (kSptesPerPage / 2);
    span = {2 * (entry_index % (kSptesPerPage / 2)), 2};
  }
  if (quadrant != role.quadrant && !bugs.Has(Bug::kQuadrantIgnored)) {
    return std::nullopt;
  }
  return span;
}

void WriteEmulator::Write(const host::GuestControls& controls, uint64_t gpa,
                          std::span<const uint8_t> bytes) {
  // Memory first: the shadows are rebuilt from the entries as they now read.
  tables_.host().WriteGuest(gpa, bytes);
  const Role base = BaseRole(controls, bugs_);
  const std::span<ShadowPage* const> shadows =
      tables_.pages().IndirectPagesOf(gpa >> 12);
  // Zapping a page changes the list.
  const absl::InlinedVector<ShadowPage*, 2> pages(shadows.begin(),
                                                  shadows.end());
  for (ShadowPage* page : pages) {
    const std::optional<uint64_t> entry = NewEntry(page->role, gpa, bytes);
    if (!entry.has_value()) {
      tables_.ZapPage(page);
      ++counters_.unshadows_misaligned;
      continue;
    }
    if (DetectFlooding(*page)) {
      tables_.ZapPage(page);
      ++counters_.unshadows_flooding;
      continue;
    }
    const int entry_index = static_cast<int>(
        (gpa & 0xFFF) / guest_entry::EntryBytes(page->role.guest_levels));
    const std::optional<SpteSpan> span =
        WrittenSptes(page->role, entry_index, bugs_);
    if (!span.has_value()) continue;
    if (page->role.guest_levels == 2 && page->role.level == 2) {
      ++counters_.pde_writes_32bit;
    }
    // The guest changed its own entry: what the change removes may stay in
    // the host TLB until the guest invalidates, in the deferred-flush mode.
    tables_.BeginGuestChange();
    for (int i = span->first; i < span->first + span->count; ++i) {
      if (page->role.level == 1 && ReadsEntriesAs(page->role, base)) {
        UpdatePte(controls, *page, i, *entry);
      } else {
        tables_.ZapSpte(page->SpteHpa(i));
      }
    }
    tables_.EndGuestChange();
  }
}

std::optional<uint64_t> WriteEmulator::NewEntry(
    const Role& role, uint64_t gpa, std::span<const uint8_t> bytes) const {
  if (bugs_.Has(Bug::kMisalignedWriteKept)) return LittleEndian(bytes);
  const int entry_bytes = guest_entry::EntryBytes(role.guest_levels);
  const uint64_t first = gpa / entry_bytes;
  if ((gpa + bytes.size() - 1) / entry_bytes != first) return std::nullopt;
  // A write to part of the entry changes the entry as a whole.
  return guest_entry::Read(tables_.host(), first * entry_bytes, entry_bytes);
}

bool WriteEmulator::DetectFlooding(ShadowPage& page) const {
  return ++page.write_flooding_count >= kFloodingWrites;
}

void WriteEmulator::UpdatePte(const host::GuestControls& controls,
                              ShadowPage& page, int index, uint64_t pte) {
  const Access inherited = bugs_.Has(Bug::kUpdateIgnoresParentRights)
                               ? kAccessAll
                               : page.role.access;
  const std::optional<guest_entry::PteLeaf> leaf =
      guest_entry::ReadPteLeaf(pte, controls, inherited);
  if (!leaf.has_value()) {
    tables_.ZapSpte(page.SpteHpa(index));
    return;
  }
  if (tables_.SetLeaf(page, index, leaf->gfn, leaf->access)) {
    ++counters_.sptes_updated_in_place;
  }
}

}  // namespace shadowdiff::impl
