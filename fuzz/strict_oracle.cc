#include "fuzz/strict_oracle.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "fuzz/state_conversion.h"

namespace shadowdiff {

StrictOracle::StrictOracle(RunContext context)
    : context_(context), audit_(context.memory) {
  // Sized for a typical case, so that they do not grow step by step.
  root_mappings_.reserve(64);
  mappings_.reserve(64);
}

void StrictOracle::Begin(host::GuestMmu& mmu) { mmu_ = &mmu; }

std::optional<Divergence> StrictOracle::Check(int index, const Step& step) {
  if (auto d = CompareOutcome(index, step)) return d;
  if (auto d = CompareMemory(index, step, step.optional_accessed_entries)) {
    return d;
  }
  if (AuditStillHolds(step)) return std::nullopt;
  return Audit(index);
}

bool StrictOracle::AuditStillHolds(const Step& step) const {
  // The audit is a function of the host tables, the TLB, guest memory and the
  // guest state. An access that took no host fault and wrote no guest page
  // changed none of them (a TLB fill copies what the tables say), and
  // recorded no invalidation (a guest #PF always comes through a host
  // fault), so the previous op's audit still holds.
  return step.is_access() && step.host_faults == 0 &&
         context_.differ.last_written_pages() == 0;
}

std::optional<Divergence> StrictOracle::CompareOutcome(int index,
                                                       const Step& step) const {
  if (step.reference == step.mmu) return std::nullopt;
  const bool livelock = step.mmu.kind == Outcome::Kind::kLivelock;
  Divergence d = MakeDivergence(
      livelock ? DivergenceKind::kLivelock : DivergenceKind::kOutcome, index,
      step.gva,
      livelock ? absl::StrFormat("the access kept faulting (%d host faults)",
                                 step.host_faults)
               : "the op's outcome differs");
  d.gpa = step.gpa;
  d.reference = step.reference;
  d.mmu = step.mmu;
  d.reference_walk = step.walk;
  if (step.is_access()) d.mmu_view = MmuView(step.gva);
  return d;
}

std::optional<Divergence> StrictOracle::CompareMemory(
    int index, const Step& step,
    std::span<const uint64_t> optional_accessed_entries) {
  std::optional<MemoryMismatch> m =
      context_.differ.CompareWritten(optional_accessed_entries);
  if (!m) return std::nullopt;
  Divergence d = MakeDivergence(
      DivergenceKind::kMemory, index, step.gva,
      absl::StrFormat("guest memory differs at gpa 0x%x", m->gpa));
  d.gpa = m->gpa;
  d.reference = step.reference;
  d.mmu = step.mmu;
  d.reference_walk = step.walk;
  d.detail =
      absl::StrFormat("qword at gpa 0x%x: reference 0x%016x, MMU 0x%016x",
                      m->qword_gpa, m->reference_qword, m->mmu_qword);
  return d;
}

std::optional<Divergence> StrictOracle::Audit(int index) {
  auto report = [&](const AuditFinding& f, const std::string& origin) {
    Divergence d = MakeDivergence(f.kind, index, f.gva,
                                  absl::StrFormat("%s: %s", origin, f.summary));
    if (!f.walk.levels.empty()) d.reference_walk = f.walk;
    if (f.walk.status == model::WalkResult::Status::kOk) d.gpa = f.walk.gpa;
    d.mmu_view = MmuView(f.gva);
    d.detail = f.detail;
    return d;
  };
  const model::PagingState& state = context_.reference.state();
  const host::HostRoot root = mmu_->CurrentRoot(host::kBootVcpu);
  auto in_current = [&](const host::HostMapping& m, uint64_t gva, uint64_t hpa,
                        std::string* why_not) {
    return AllowedInCurrentRoot(root, m, gva, hpa, why_not);
  };
  auto in_tlb = [this](const host::HostMapping& m, uint64_t gva, uint64_t hpa,
                       std::string* why_not) {
    return AllowedInTlb(m, gva, hpa, why_not);
  };
  context_.cpu.Mappings(root, &root_mappings_);
  if (auto f = audit_.Check(root_mappings_, state, false, in_current)) {
    return report(*f, "current root");
  }
  for (const host::KeptRoot& kept : mmu_->KeptRoots()) {
    if (kept.root == root) continue;
    context_.cpu.Mappings(kept.root, &mappings_);
    auto in_kept = [&](const host::HostMapping& m, uint64_t gva, uint64_t hpa,
                       std::string* why_not) {
      return AllowedInKeptRoot(kept, m, gva, hpa, why_not);
    };
    if (auto f =
            audit_.Check(mappings_, ModelState(kept.guest), false, in_kept)) {
      Divergence d =
          report(*f, absl::StrFormat("kept root for CR3 0x%x", kept.guest.cr3));
      d.mmu_view = context_.cpu.Trace(kept.root, f->gva);
      return d;
    }
  }
  context_.cpu.TlbMappings(&mappings_);
  // An entry that is exactly a mapping of the current root passed with it.
  std::erase_if(mappings_, [this](const host::HostMapping& m) {
    auto same_gva = std::equal_range(
        root_mappings_.begin(), root_mappings_.end(), m,
        [](const host::HostMapping& a, const host::HostMapping& b) {
          return a.gva < b.gva;
        });
    return std::find(same_gva.first, same_gva.second, m) != same_gva.second;
  });
  if (auto f = audit_.Check(mappings_, state, true, in_tlb)) {
    return report(*f, "host TLB");
  }
  return std::nullopt;
}

std::optional<host::HostWalkTrace> StrictOracle::MmuView(uint64_t gva) const {
  // An MMU that reported an error is not called again.
  if (!context_.cpu.mmu_error().empty()) return std::nullopt;
  return context_.cpu.Trace(mmu_->CurrentRoot(host::kBootVcpu), gva);
}

}  // namespace shadowdiff
