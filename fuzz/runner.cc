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
      memory_differ_(memory_, cpu_) {}

Oracle& Runner::OracleFor(OracleKind kind) {
  if (oracle_ == nullptr || kind != oracle_kind_) {
    oracle_.reset();  // an architectural oracle lets go of the memory first
    oracle_ = MakeOracle(kind, {.memory = memory_,
                                .reference = reference_,
                                .cpu = cpu_,
                                .differ = memory_differ_});
    oracle_kind_ = kind;
  }
  return *oracle_;
}

void Runner::InitMemory() {
  ForEachInitialWrite(case_->setup(),
                      [this](uint64_t gpa, std::span<const uint8_t> bytes) {
                        memory_.Write(gpa, bytes);
                        cpu_.InitGuest(gpa, bytes);
                      });
}

RunResult Runner::Run(const Case& c, host::GuestMmu& mmu, RunObserver* observer,
                      host::HostTlbTagging tlb, OracleKind oracle_kind) {
  case_ = &c;
  mmu_ = &mmu;
  Oracle& oracle = OracleFor(oracle_kind);
  memory_.Reset(c.setup().slots());
  reference_.Reset(c.setup());
  cpu_.Reset(HostSlots(c.setup()), mmu, tlb);
  memory_differ_.Reset();
  RunResult result;
  if (IsEmpty(c)) return result;
  InitMemory();
  oracle.Begin(mmu);
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
          .mmu_view = step.is_access() ? MmuView(step.gva) : std::nullopt,
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
  void Invpcid(uint32_t type, uint32_t pcid, uint64_t gva) override {
    step = runner_.Invpcid(type, pcid, gva);
  }

  Step step;

 private:
  Runner& runner_;
};

Step Runner::RunOp(const Op& op) {
  StepTarget target(*this);
  DispatchOp(op, case_->setup().mode(), target);
  return std::move(target.step);
}

Step Runner::LoadCr3(uint64_t cr3) {
  Step step{.kind = Step::Kind::kLoadCr3,
            .before = reference_.state(),
            .cr3_source = cr3};
  step.reference = FromAcceptance(reference_.LoadCr3(cr3));
  step.mmu = FromAcceptance(mmu_->LoadCr3(host::kBootVcpu, cr3));
  cpu_.EnterGuest();
  return step;
}

Step Runner::RunAccess(uint64_t gva, model::AccessKind kind, int width,
                       uint64_t value, bool user) {
  const bool is_load = kind == model::AccessKind::kRead;
  Step step{.kind = Step::Kind::kAccess,
            .before = reference_.state(),
            .access = kind,
            .width = width,
            .value = value,
            .user = user};
  model::AccessResult ref = reference_.Access(gva, kind, width, value, user);
  host::HostAccessResult mmu =
      cpu_.Access(gva, HostAccessKind(kind), width, value, user);
  step.gva = gva;
  step.gpa = ref.gpa;
  step.reference = FromReference(ref, is_load);
  step.mmu = FromHost(mmu, is_load);
  step.walk = std::move(ref.walk);
  step.optional_accessed_entries = std::move(ref.optional_accessed_entries);
  step.host_faults = mmu.host_faults;
  return step;
}

Step Runner::EmulatedWrite(uint64_t gpa, std::span<const uint8_t> bytes) {
  Step step{
      .kind = Step::Kind::kWrite, .gpa = gpa, .before = reference_.state()};
  reference_.WritePhysical(gpa, bytes);
  mmu_->EmulatedWrite(host::kBootVcpu, gpa, bytes);
  cpu_.EnterGuest();
  return step;
}

Step Runner::Invlpg(uint64_t gva) {
  Step step{
      .kind = Step::Kind::kInvlpg, .gva = gva, .before = reference_.state()};
  reference_.Invlpg(gva);
  mmu_->Invlpg(host::kBootVcpu, gva);
  cpu_.EnterGuest();
  return step;
}

Step Runner::Invpcid(uint32_t type, uint32_t pcid, uint64_t gva) {
  Step step{.kind = Step::Kind::kInvpcid,
            .gva = gva,
            .before = reference_.state(),
            .invpcid_type = type,
            .pcid = pcid};
  step.reference = FromAcceptance(reference_.Invpcid(type, pcid, gva));
  step.mmu = FromAcceptance(mmu_->Invpcid(
      host::kBootVcpu, static_cast<host::InvpcidType>(type), pcid, gva));
  cpu_.EnterGuest();
  return step;
}

Step Runner::SetControl(ControlBit bit, bool value) {
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
    case CR4_PGE:
      requested.cr4_pge = value;
      break;
    case CR4_PCIDE:
      requested.cr4_pcide = value;
      break;
    default:
      break;
  }
  Step step{.kind = Step::Kind::kSetControl, .before = reference_.state()};
  step.reference = FromAcceptance(reference_.SetControl(bit, value));
  step.mmu = FromAcceptance(mmu_->SetControls(host::kBootVcpu, requested));
  cpu_.EnterGuest();
  return step;
}

std::optional<Divergence> Runner::Compare(int index, const Step& step) {
  if (auto d = CheckMmuError(index, step)) return d;
  return oracle_->Check(index, step);
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

std::optional<host::HostWalkTrace> Runner::MmuView(uint64_t gva) {
  // An MMU that reported an error is not called again.
  if (!cpu_.mmu_error().empty()) return std::nullopt;
  return cpu_.Trace(mmu_->CurrentRoot(host::kBootVcpu), gva);
}

}  // namespace shadowdiff
