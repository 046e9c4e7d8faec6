#include "fuzz/architectural_oracle.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "fuzz/state_conversion.h"
#include "model/access_rights.h"
#include "model/accessed_dirty.h"
#include "model/entry_bits.h"
#include "model/invalidation.h"
#include "model/paging_mode.h"

namespace shadowdiff {
namespace {

// The levels of `possible` the access reads itself, as SetAccessedDirty's
// mask.
uint32_t LevelsRead(const model::PossibleWalk& possible, uint64_t now) {
  uint32_t mask = 0;
  for (size_t i = 0; i < possible.walk.levels.size(); ++i) {
    if (possible.ReadNow(i, now)) mask |= 1u << i;
  }
  return mask;
}

// SDM 4.10.2.2: a TLB entry holds the rights of its walk; a write through
// one whose dirty flag is 0 walks again (the reading of
// model/translation_cache.h), so such an entry cannot serve it.
bool CanServe(const model::PossibleWalk& possible, model::AccessKind kind) {
  return possible.source != model::PossibleWalk::Source::kTlbEntry ||
         kind != model::AccessKind::kWrite || possible.walk.dirty;
}

// Adds the gpas of walk's entries in memory (not PAE PDPTE registers).
using EntryGpaList = absl::InlinedVector<uint64_t, 8>;

void AddEntryGpas(const model::WalkResult& walk, EntryGpaList& gpas) {
  for (const model::WalkLevel& level : walk.levels) {
    if (level.from_register) continue;
    if (std::find(gpas.begin(), gpas.end(), level.entry_gpa) == gpas.end()) {
      gpas.push_back(level.entry_gpa);
    }
  }
}

std::string Describe(const model::PossibleWalk& p, uint64_t now) {
  std::vector<std::string> levels;
  for (size_t i = 0; i < p.walk.levels.size(); ++i) {
    const model::WalkLevel& l = p.walk.levels[i];
    levels.push_back(absl::StrFormat(
        "L%d 0x%x@0x%x%s", l.level, l.value, l.entry_gpa,
        p.ReadNow(i, now) ? ""
                          : absl::StrFormat(" (cached at v%d)", p.read_at[i])));
  }
  const bool ok = p.walk.status == model::WalkResult::Status::kOk;
  return absl::StrFormat(
      "%s%s: %s",
      p.source == model::PossibleWalk::Source::kTlbEntry ? "TLB entry"
                                                         : "walk now",
      ok ? absl::StrFormat(" to gpa 0x%x", p.walk.gpa) : " (faults)",
      absl::StrJoin(levels, ", "));
}

std::string DescribeAll(const model::PossibleWalks& possible, uint64_t now) {
  std::vector<std::string> lines;
  for (const model::PossibleWalk& p : possible.walks) {
    lines.push_back("  " + Describe(p, now));
  }
  return absl::StrFormat("what the processor may use (SDM 4.10), %d way%s:\n%s",
                         possible.walks.size(),
                         possible.walks.size() == 1 ? "" : "s",
                         absl::StrJoin(lines, "\n"));
}

}  // namespace

ArchitecturalOracle::ArchitecturalOracle(RunContext context)
    : StrictOracle(context), cache_(context.memory) {}

void ArchitecturalOracle::Begin(host::GuestMmu& mmu) {
  StrictOracle::Begin(mmu);
  cache_.Reset(context_.reference.state());
  checked_version_ = cache_.version();
}

std::optional<Divergence> ArchitecturalOracle::Check(int index,
                                                     const Step& step) {
  std::optional<Divergence> d;
  if (step.is_access()) {
    d = CheckAccess(index, step);
  } else {
    // CR3 loads, control changes and INVPCID are #GP or not as the SDM
    // says, whatever is cached.
    d = CompareOutcome(index, step);
    if (!d) Invalidate(step);
    if (!d) d = CompareMemory(index, step, {});
  }
  checked_version_ = cache_.version();
  if (d) return d;
  if (AuditStillHolds(step)) return std::nullopt;
  return Audit(index);
}

void ArchitecturalOracle::Invalidate(const Step& step) {
  const model::PagingState& now = context_.reference.state();
  const bool accepted = step.reference.kind == Outcome::Kind::kAccepted;
  switch (step.kind) {
    case Step::Kind::kInvlpg:
      cache_.OnInvalidation(model::InvlpgInvalidation(now, step.gva));
      break;
    case Step::Kind::kLoadCr3:
      if (!accepted) break;
      cache_.OnState(now);
      if (auto inv = model::Cr3LoadInvalidation(step.before, step.cr3_source)) {
        cache_.OnInvalidation(*inv);
      }
      break;
    case Step::Kind::kSetControl:
      if (!accepted) break;
      cache_.OnState(now);
      if (auto inv = model::ControlChangeInvalidation(step.before, now)) {
        cache_.OnInvalidation(*inv);
      }
      break;
    case Step::Kind::kInvpcid:
      if (!accepted) break;
      cache_.OnInvalidation(
          model::InvpcidInvalidation(step.invpcid_type, step.pcid, step.gva));
      break;
    default:
      break;
  }
}

bool ArchitecturalOracle::MemoryShows(
    const model::WalkResult& walk, uint32_t levels_updated, const Step& step,
    bool stored, std::span<const uint64_t> entry_gpas) const {
  const int bytes =
      model::ModeInfo(context_.reference.state().mode).entry_bytes;
  for (const uint64_t gpa : entry_gpas) {
    uint64_t expected = cache_.ValueAt(gpa, bytes, checked_version_);
    // The walk's updates, level by level (an entry may serve two levels).
    for (size_t i = 0; i < walk.levels.size(); ++i) {
      const model::WalkLevel& level = walk.levels[i];
      if (level.from_register || level.entry_gpa != gpa ||
          (levels_updated >> i & 1) == 0) {
        continue;
      }
      expected |= model::entry_bits::kAccessed;
      if (i + 1 == walk.levels.size() &&
          step.access == model::AccessKind::kWrite) {
        expected |= model::entry_bits::kDirty;
      }
    }
    // The store itself comes after the walk's updates, and may land on an
    // entry.
    for (int b = 0; stored && b < step.width; ++b) {
      const uint64_t at = walk.gpa + b;
      if (at < gpa || at >= gpa + bytes) continue;
      const int shift = 8 * static_cast<int>(at - gpa);
      expected = (expected & ~(uint64_t{0xFF} << shift)) |
                 ((step.value >> (8 * b)) & 0xFF) << shift;
    }
    std::array<uint8_t, 8> held = {};
    if (!context_.cpu.ReadGuest(gpa, std::span<uint8_t>(held.data(), bytes))) {
      continue;
    }
    uint64_t value = 0;
    for (int b = bytes - 1; b >= 0; --b) value = value << 8 | held[b];
    if (value != expected) return false;
  }
  return true;
}

std::optional<Divergence> ArchitecturalOracle::CheckAccess(int index,
                                                           const Step& step) {
  const bool is_load = step.access == model::AccessKind::kRead;
  const bool mmu_faulted = step.mmu.kind == Outcome::Kind::kPageFault;
  // A store that went to RAM: its bytes are part of what memory shows.
  const bool stored = step.access == model::AccessKind::kWrite &&
                      step.mmu.kind == Outcome::Kind::kOk;
  // Shortcut: the MMU did what the current walk does. Sound because the
  // current walk is always one of the possible ones; taken only when the
  // MMU's memory also shows that walk's accessed and dirty updates (the
  // optional ones of a fault are the memory comparison's to allow).
  // The entries any of the walks in question may update: the current
  // walk's, and below those of every walk that gives the MMU's outcome.
  EntryGpaList entry_gpas;
  if (step.walk) AddEntryGpas(*step.walk, entry_gpas);
  if (step.reference == step.mmu &&
      (mmu_faulted || (step.walk && MemoryShows(*step.walk, model::kEveryLevel,
                                                step, stored, entry_gpas)))) {
    if (mmu_faulted) {
      cache_.OnInvalidation(
          model::PageFaultInvalidation(step.before, step.gva));
    }
    return CompareMemory(index, step, step.optional_accessed_entries);
  }
  // Every possible walk, as memory was before the access.
  const uint64_t now = checked_version_;
  const model::PossibleWalks possible = cache_.For(step.gva, step.before, now);
  std::vector<size_t> matching;
  for (size_t i = 0; i < possible.walks.size(); ++i) {
    const model::PossibleWalk& p = possible.walks[i];
    if (!CanServe(p, step.access)) continue;
    model::AccessResult r;
    if (std::optional<uint32_t> error =
            model::AccessFault(p.walk, step.before, step.access, step.user)) {
      r.kind = model::AccessResult::Kind::kPageFault;
      r.error_code = *error;
      r.cr2 = step.gva;
    } else if (std::optional<uint64_t> hpa =
                   context_.memory.HostAddress(p.walk.gpa)) {
      r.gpa = p.walk.gpa;
      r.hpa = *hpa;
      if (is_load) r.value = cache_.ValueAt(r.gpa, step.width, now);
    } else {
      r.kind = model::AccessResult::Kind::kMmio;
      r.gpa = p.walk.gpa;
    }
    if (FromReference(r, is_load) != step.mmu) continue;
    matching.push_back(i);
    AddEntryGpas(p.walk, entry_gpas);
  }
  // The walk whose updates the MMU's memory shows, over every entry any of
  // them may touch; else the current walk, where it gives the outcome (the
  // memory comparison then says where it differs); else the first.
  std::optional<size_t> chosen;
  for (size_t i : matching) {
    const model::PossibleWalk& p = possible.walks[i];
    const uint32_t updated = mmu_faulted ? 0 : LevelsRead(p, now);
    if (MemoryShows(p.walk, updated, step, stored, entry_gpas)) {
      chosen = i;
      break;
    }
  }
  for (size_t i : matching) {
    if (chosen) break;
    const model::PossibleWalk& p = possible.walks[i];
    if (LevelsRead(p, now) == (1u << p.walk.levels.size()) - 1 &&
        p.walk.levels == step.walk.value_or(model::WalkResult{}).levels) {
      chosen = i;
    }
  }
  if (!chosen && !matching.empty()) chosen = matching.front();
  if (!chosen) {
    // Without the whole set, an outcome outside what was seen is not judged,
    // and the reference takes the MMU's memory as it is, so that nothing
    // later is judged against an access the oracle could not follow.
    if (!possible.complete) {
      context_.differ.AdoptWritten();
      return std::nullopt;
    }
    std::optional<Divergence> d = CompareOutcome(index, step);
    if (d) {
      d->detail = DescribeAll(possible, now);
      return d;
    }
    // The same outcome as the current walk, with other updates: the memory
    // comparison says where.
    return CompareMemory(index, step, step.optional_accessed_entries);
  }
  // The reference takes the walk the MMU took, in place of its own.
  cache_.RollBack(now);
  const model::PossibleWalk& p = possible.walks[*chosen];
  const uint32_t read = LevelsRead(p, now);
  model::EntryGpas optional;
  if (mmu_faulted) {
    optional = model::OptionalAccessedEntries(p.walk, read);
    cache_.OnInvalidation(model::PageFaultInvalidation(step.before, step.gva));
  } else {
    model::SetAccessedDirty(context_.memory, step.before, p.walk, step.access,
                            read);
    if (step.access == model::AccessKind::kWrite &&
        step.mmu.kind == Outcome::Kind::kOk) {
      model::WriteLittleEndian(context_.memory, p.walk.gpa, step.width,
                               step.value);
    }
  }
  return CompareMemory(index, step, optional);
}

bool ArchitecturalOracle::AllowedBy(const model::PossibleWalks& possible,
                                    const model::PagingState& state,
                                    const host::HostMapping& m, uint64_t gva,
                                    uint64_t hpa, std::string* why_not) const {
  // Without the whole set, nothing outside what was seen can be judged.
  if (!possible.complete) return true;
  for (const model::PossibleWalk& p : possible.walks) {
    if (p.walk.status != model::WalkResult::Status::kOk) continue;
    if (!audit_.CheckTranslation(gva, hpa, m, p.walk, state)) return true;
  }
  *why_not = DescribeAll(possible, cache_.version());
  return false;
}

ArchitecturalOracle::Promise ArchitecturalOracle::PromiseFor(
    const host::HostRoot& root, uint64_t gva, std::string* why_not) const {
  const std::optional<std::vector<uint64_t>> loose =
      mmu_->OutOfSyncTables(host::kBootVcpu);
  if (!loose.has_value()) return Promise::kNone;
  for (const host::HostWalkLevel& level :
       context_.cpu.Trace(root, gva).levels) {
    if (std::find(loose->begin(), loose->end(), level.entry_hpa >> 12) !=
        loose->end()) {
      return Promise::kOutOfSync;
    }
  }
  *why_not =
      "the MMU says its tables follow the guest's exactly but for its "
      "out-of-sync ones, and the host walk of this page passes through none "
      "of them: only the current guest walk is allowed here";
  return Promise::kInSync;
}

bool ArchitecturalOracle::AllowedInCurrentRoot(const host::HostRoot& root,
                                               const host::HostMapping& m,
                                               uint64_t gva, uint64_t hpa,
                                               std::string* why_not) {
  if (PromiseFor(root, gva, why_not) == Promise::kInSync) return false;
  return AllowedInTlb(m, gva, hpa, why_not);
}

bool ArchitecturalOracle::AllowedInTlb(const host::HostMapping& m, uint64_t gva,
                                       uint64_t hpa, std::string* why_not) {
  return AllowedBy(cache_.For(gva, context_.reference.state()),
                   context_.reference.state(), m, gva, hpa, why_not);
}

bool ArchitecturalOracle::AllowedInKeptRoot(const host::KeptRoot& kept,
                                            const host::HostMapping& m,
                                            uint64_t gva, uint64_t hpa,
                                            std::string* why_not) {
  switch (PromiseFor(kept.root, gva, why_not)) {
    case Promise::kInSync:
      return false;
    case Promise::kOutOfSync:
      // Not judged here: the guest reaches a kept root only through a CR3
      // load, which must bring its out-of-sync tables up to date as far as
      // the load invalidates (SDM 4.10.4.1), and the audit after that load
      // judges them in the current root. Until then they may hold what no
      // moment of the kept root's PCID made: a translation made through a
      // table shared with another address space.
      return true;
    case Promise::kNone:
      break;
  }
  const model::PagingState state = ModelState(kept.guest);
  return AllowedBy(cache_.EverMade(gva, state), state, m, gva, hpa, why_not);
}

}  // namespace shadowdiff
