#include "fuzz/runner.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_format.h"
#include "fuzz/initial_memory.h"
#include "fuzz/op_dispatch.h"
#include "fuzz/op_text.h"
#include "fuzz/state_conversion.h"
#include "proto/entry_encoding.h"
#include "proto/normalize.h"

namespace shadowdiff {

Runner::Runner()
    : memory_({}),
      reference_(memory_, Setup::default_instance()),
      memory_differ_(memory_, cpu_),
      audit_(memory_) {
  // Sized for a typical case, so that they do not grow step by step.
  root_mappings_.reserve(64);
  mappings_.reserve(64);
}

void Runner::InitMemory() {
  ForEachInitialWrite(case_->setup(),
                      [this](uint64_t gpa, std::span<const uint8_t> bytes) {
                        memory_.Write(gpa, bytes);
                        cpu_.InitGuest(gpa, bytes);
                      });
}

RunResult Runner::Run(const Case& c, host::GuestMmu& mmu, RunObserver* observer,
                      host::HostTlbTagging tlb) {
  case_ = &c;
  mmu_ = &mmu;
  memory_.Reset(c.setup().slots());
  reference_.Reset(c.setup());
  cpu_.Reset(HostSlots(c.setup()), mmu, tlb);
  memory_differ_.Reset();
  RunResult result;
  if (IsEmpty(c)) return result;
  InitMemory();
  // Both sides start from the same bytes; this also registers the pages for
  // the final full comparison.
  if (auto m = memory_differ_.CompareWritten({})) {
    result.divergence = MakeDivergence(
        DivergenceKind::kMemory, kSetupOp, 0,
        absl::StrFormat("guest RAM differs after set-up at gpa 0x%x", m->gpa));
    return result;
  }
  // A failed start is the MMU's own failure, whatever the case holds.
  absl::Status started = mmu_->Start(cpu_, HostControls(reference_.state()));
  if (started.ok() && !cpu_.mmu_error().empty()) {
    started = absl::InternalError(cpu_.mmu_error());
  }
  if (!started.ok()) {
    result.divergence = MakeDivergence(
        DivergenceKind::kMmuError, kSetupOp, 0,
        absl::StrFormat("the MMU failed to start: %s", started.ToString()));
    return result;
  }

  // The op's text is only made for an observer: formatting every op would
  // cost more than running it.
  auto run_step = [&](int index, absl::FunctionRef<std::string()> text,
                      Step step) {
    if (observer) {
      OpRecord record{
          .index = index,
          .text = text(),
          .reference = step.reference,
          .mmu = step.mmu,
          .reference_walk = step.walk,
          .mmu_view = step.is_access ? MmuView(step.gva) : std::nullopt,
          .host_faults = step.host_faults};
      observer->OnOp(record);
    }
    return Compare(index, step);
  };

  const uint64_t cr3 = Cr3Value(case_->setup().cr3());
  auto initial_text = [cr3] {
    return absl::StrFormat("initial load_cr3 0x%x", cr3);
  };
  if (auto d = run_step(kSetupOp, initial_text, LoadCr3(cr3))) {
    result.divergence = std::move(d);
    return result;
  }
  const PagingMode mode = case_->setup().mode();
  for (int i = 0; i < case_->ops_size(); ++i) {
    const Op& op = case_->ops(i);
    result.ops_run = i + 1;
    auto text = [&op, mode] { return OpText(op, mode); };
    if (auto d = run_step(i, text, RunOp(op))) {
      result.divergence = std::move(d);
      return result;
    }
  }
  if (auto m = memory_differ_.CompareAll()) {
    Divergence d = MakeDivergence(
        DivergenceKind::kMemory, case_->ops_size(), 0,
        absl::StrFormat("guest memory differs at gpa 0x%x at the end", m->gpa));
    d.gpa = m->gpa;
    d.detail =
        absl::StrFormat("qword at gpa 0x%x: reference 0x%016x, MMU 0x%016x",
                        m->qword_gpa, m->reference_qword, m->mmu_qword);
    result.divergence = std::move(d);
  }
  return result;
}

class Runner::StepTarget final : public OpTarget {
 public:
  explicit StepTarget(Runner& runner) : runner_(runner) {}
  void Access(uint64_t gva, model::AccessKind kind, int width, uint64_t value,
              bool user) override {
    step = runner_.RunAccess(gva, kind, width, value, user);
  }
  void WritePhysical(uint64_t gpa, std::span<const uint8_t> bytes) override {
    step = runner_.EmulatedWrite(gpa, bytes);
  }
  void Invlpg(uint64_t gva) override { step = runner_.Invlpg(gva); }
  void LoadCr3(uint64_t cr3) override { step = runner_.LoadCr3(cr3); }
  void SetControl(ControlBit bit, bool value) override {
    step = runner_.SetControl(bit, value);
  }

  Step step;

 private:
  Runner& runner_;
};

Runner::Step Runner::RunOp(const Op& op) {
  StepTarget target(*this);
  DispatchOp(op, case_->setup().mode(), target);
  return std::move(target.step);
}

Runner::Step Runner::LoadCr3(uint64_t cr3) {
  Step step;
  step.reference = FromAcceptance(reference_.LoadCr3(cr3));
  step.mmu = FromAcceptance(mmu_->LoadCr3(host::kBootVcpu, cr3));
  cpu_.EnterGuest();
  return step;
}

Runner::Step Runner::RunAccess(uint64_t gva, model::AccessKind kind, int width,
                               uint64_t value, bool user) {
  const bool is_load = kind == model::AccessKind::kRead;
  model::AccessResult ref = reference_.Access(gva, kind, width, value, user);
  host::HostAccessResult mmu =
      cpu_.Access(gva, HostAccessKind(kind), width, value, user);
  Step step;
  step.is_access = true;
  step.gva = gva;
  step.gpa = ref.gpa;
  step.reference = FromReference(ref, is_load);
  step.mmu = FromHost(mmu, is_load);
  step.walk = std::move(ref.walk);
  step.optional_accessed_entries = std::move(ref.optional_accessed_entries);
  step.host_faults = mmu.host_faults;
  return step;
}

Runner::Step Runner::EmulatedWrite(uint64_t gpa,
                                   std::span<const uint8_t> bytes) {
  reference_.WritePhysical(gpa, bytes);
  mmu_->EmulatedWrite(host::kBootVcpu, gpa, bytes);
  cpu_.EnterGuest();
  return Step{.gpa = gpa};
}

Runner::Step Runner::Invlpg(uint64_t gva) {
  reference_.Invlpg(gva);
  mmu_->Invlpg(host::kBootVcpu, gva);
  cpu_.EnterGuest();
  return Step{.gva = gva};
}

Runner::Step Runner::SetControl(ControlBit bit, bool value) {
  host::GuestControls requested = HostControls(reference_.state());
  switch (bit) {
    case CR0_WP:
      requested.cr0_wp = value;
      break;
    case EFER_NXE:
      requested.efer_nxe = value;
      break;
    case CR4_PSE:
      requested.cr4_pse = value;
      break;
    default:
      break;
  }
  Step step;
  step.reference = FromAcceptance(reference_.SetControl(bit, value));
  step.mmu = FromAcceptance(mmu_->SetControls(host::kBootVcpu, requested));
  cpu_.EnterGuest();
  return step;
}

std::optional<Divergence> Runner::Compare(int index, const Step& step) {
  if (auto d = CheckMmuError(index, step)) return d;
  if (auto d = CompareOutcome(index, step)) return d;
  if (auto d = CompareMemory(index, step)) return d;
  // The audit is a function of the host tables, the TLB, guest memory and the
  // guest state. An access that took no host fault and wrote no guest page
  // changed none of them (a TLB fill copies what the tables say), so the
  // previous op's audit still holds.
  const bool nothing_changed = step.is_access && step.host_faults == 0 &&
                               memory_differ_.last_written_pages() == 0;
  if (nothing_changed) return std::nullopt;
  return Audit(index);
}

std::optional<Divergence> Runner::CheckMmuError(int index, const Step& step) {
  if (cpu_.mmu_error().empty()) return std::nullopt;
  Divergence d =
      MakeDivergence(DivergenceKind::kMmuError, index, step.gva,
                     absl::StrFormat("the MMU reported an internal error: %s",
                                     cpu_.mmu_error()));
  d.gpa = step.gpa;
  d.reference = step.reference;
  d.mmu = step.mmu;
  d.reference_walk = step.walk;
  return d;
}

std::optional<Divergence> Runner::CompareOutcome(int index, const Step& step) {
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
  if (step.is_access) d.mmu_view = MmuView(step.gva);
  return d;
}

std::optional<Divergence> Runner::CompareMemory(int index, const Step& step) {
  std::optional<MemoryMismatch> m =
      memory_differ_.CompareWritten(step.optional_accessed_entries);
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

std::optional<Divergence> Runner::Audit(int index) {
  auto report = [&](const AuditFinding& f, const std::string& origin) {
    Divergence d = MakeDivergence(f.kind, index, f.gva,
                                  absl::StrFormat("%s: %s", origin, f.summary));
    if (!f.walk.levels.empty()) d.reference_walk = f.walk;
    if (f.walk.status == model::WalkResult::Status::kOk) d.gpa = f.walk.gpa;
    d.mmu_view = MmuView(f.gva);
    return d;
  };
  const host::HostRoot root = mmu_->CurrentRoot(host::kBootVcpu);
  cpu_.Mappings(root, &root_mappings_);
  if (auto f = audit_.Check(root_mappings_, reference_.state(), false)) {
    return report(*f, "current root");
  }
  for (const host::KeptRoot& kept : mmu_->KeptRoots()) {
    if (kept.root == root) continue;
    cpu_.Mappings(kept.root, &mappings_);
    if (auto f = audit_.Check(mappings_, ModelState(kept.guest), false)) {
      Divergence d =
          report(*f, absl::StrFormat("kept root for CR3 0x%x", kept.guest.cr3));
      d.mmu_view = cpu_.Trace(kept.root, f->gva);
      return d;
    }
  }
  cpu_.TlbMappings(&mappings_);
  // An entry that is exactly a mapping of the current root passed with it.
  std::erase_if(mappings_, [this](const host::HostMapping& m) {
    auto same_gva = std::equal_range(
        root_mappings_.begin(), root_mappings_.end(), m,
        [](const host::HostMapping& a, const host::HostMapping& b) {
          return a.gva < b.gva;
        });
    return std::find(same_gva.first, same_gva.second, m) != same_gva.second;
  });
  if (auto f = audit_.Check(mappings_, reference_.state(), true)) {
    return report(*f, "host TLB");
  }
  return std::nullopt;
}

Divergence Runner::MakeDivergence(DivergenceKind kind, int index, uint64_t gva,
                                  std::string summary) {
  Divergence d;
  d.kind = kind;
  d.op_index = index;
  d.gva = gva;
  d.summary = std::move(summary);
  return d;
}

std::optional<host::HostWalkTrace> Runner::MmuView(uint64_t gva) {
  // An MMU that reported an error is not called again.
  if (!cpu_.mmu_error().empty()) return std::nullopt;
  return cpu_.Trace(mmu_->CurrentRoot(host::kBootVcpu), gva);
}

}  // namespace shadowdiff
