#include "host/c_mmu.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "host/guest_mmu.h"
#include "host/host_services.h"

namespace shadowdiff::host {
namespace {

constexpr uint64_t kPageBytes = 4096;
constexpr size_t kErrorBytes = 512;

shadowdiff_controls ToC(const GuestControls& controls) {
  return {.mode = static_cast<uint32_t>(controls.mode),
          .cr0_wp = controls.cr0_wp,
          .cr4_pse = controls.cr4_pse,
          .efer_nxe = controls.efer_nxe,
          .gbpages = controls.gbpages,
          .cr4_pge = controls.cr4_pge,
          .cr4_pcide = controls.cr4_pcide};
}

GuestControls FromC(const shadowdiff_controls& controls) {
  return {.mode = static_cast<GuestMode>(controls.mode),
          .cr0_wp = controls.cr0_wp,
          .cr4_pse = controls.cr4_pse,
          .efer_nxe = controls.efer_nxe,
          .gbpages = controls.gbpages,
          .cr4_pge = controls.cr4_pge,
          .cr4_pcide = controls.cr4_pcide};
}

GuestPagingState FromC(const shadowdiff_paging_state& state) {
  GuestPagingState out;
  out.controls = FromC(state.controls);
  out.cr3 = state.cr3;
  std::copy(std::begin(state.pdptes), std::end(state.pdptes),
            out.pdptes.begin());
  return out;
}

HostRoot FromC(const shadowdiff_root& root) {
  return {.kind = root.kind == SHADOWDIFF_ROOT_PAE ? HostRoot::Kind::kPae
                                                   : HostRoot::Kind::k4Level,
          .hpa = root.hpa};
}

uint32_t ToC(AccessKind kind) {
  switch (kind) {
    case AccessKind::kWrite:
      return SHADOWDIFF_ACCESS_WRITE;
    case AccessKind::kFetch:
      return SHADOWDIFF_ACCESS_FETCH;
    case AccessKind::kRead:
      break;
  }
  return SHADOWDIFF_ACCESS_READ;
}

// The C view of the host, first in the object so that the shadowdiff_host*
// the MMU is given leads back to the services.
struct HostBridge {
  shadowdiff_host c;
  HostServices* services;
};
static_assert(std::is_standard_layout_v<HostBridge>);

HostServices& Services(shadowdiff_host* host) {
  return *reinterpret_cast<HostBridge*>(host)->services;
}

bool ReadGuest(shadowdiff_host* host, uint64_t gpa, void* out, size_t len) {
  return Services(host).ReadGuest(
      gpa, std::span<uint8_t>(static_cast<uint8_t*>(out), len));
}

bool WriteGuest(shadowdiff_host* host, uint64_t gpa, const void* bytes,
                size_t len) {
  return Services(host).WriteGuest(
      gpa, std::span<const uint8_t>(static_cast<const uint8_t*>(bytes), len));
}

bool GfnToHfn(shadowdiff_host* host, uint64_t gfn, uint64_t* hfn) {
  const std::optional<uint64_t> found = Services(host).GfnToHfn(gfn);
  if (found && hfn != nullptr) *hfn = *found;
  return found.has_value();
}

size_t Memslots(shadowdiff_host* host, shadowdiff_memslot* out, size_t max) {
  const std::span<const MemorySlot> slots = Services(host).MemorySlots();
  for (size_t i = 0; i < slots.size() && i < max; ++i) {
    out[i] = {.base_gfn = slots[i].base_gfn, .pages = slots[i].pages};
  }
  return slots.size();
}

void* AllocTable(shadowdiff_host* host) {
  absl::StatusOr<uint64_t> hfn = Services(host).AllocateFrame();
  if (!hfn.ok()) return nullptr;
  return shadowdiff_table_ptr(host, *hfn * kPageBytes);
}

void FreeTable(shadowdiff_host* host, void* table) {
  if (shadowdiff_table_ptr(host, shadowdiff_table_hpa(host, table)) ==
      nullptr) {
    Services(host).ReportMmuError(
        absl::StrFormat("free_table(%p): not a table page of the host", table));
    return;
  }
  Services(host).FreeFrame(shadowdiff_table_hpa(host, table) / kPageBytes);
}

void FlushTlbGva(shadowdiff_host* host, shadowdiff_vcpu_set vcpus,
                 uint64_t gva) {
  Services(host).FlushTlb(VcpuSet{vcpus.bits}, gva);
}

void FlushTlbAll(shadowdiff_host* host, shadowdiff_vcpu_set vcpus) {
  Services(host).FlushTlbAll(VcpuSet{vcpus.bits});
}

void ReportError(shadowdiff_host* host, const char* file, int line,
                 const char* message) {
  Services(host).ReportMmuError(
      absl::StrFormat("%s:%d: %s", file == nullptr ? "?" : file, line,
                      message == nullptr ? "(no message)" : message));
}

constexpr shadowdiff_host_ops kHostOps = {
    .read_guest = ReadGuest,
    .write_guest = WriteGuest,
    .gfn_to_hfn = GfnToHfn,
    .memslots = Memslots,
    .alloc_table = AllocTable,
    .free_table = FreeTable,
    .flush_tlb_gva = FlushTlbGva,
    .flush_tlb_all = FlushTlbAll,
    .report_error = ReportError,
};

class CMmu final : public GuestMmu {
 public:
  CMmu(const shadowdiff_mmu_ops* ops, shadowdiff_mmu* mmu)
      : ops_(ops), mmu_(mmu) {}
  ~CMmu() override { ops_->destroy(mmu_); }

  std::string_view Name() const override { return ops_->name; }

  absl::Status Start(HostServices& host,
                     const GuestControls& controls) override {
    const TableWindow window = host.TableFrames();
    bridge_.c = {.ops = &kHostOps,
                 .table_base = window.base,
                 .table_base_hpa = window.base_hpa,
                 .table_bytes = window.bytes};
    bridge_.services = &host;
    const shadowdiff_controls c_controls = ToC(controls);
    std::array<char, kErrorBytes> error = {};
    if (!ops_->start(mmu_, &bridge_.c, &c_controls, error.data(),
                     error.size())) {
      error.back() = '\0';
      return absl::InternalError(
          absl::StrFormat("%s: start failed: %s", ops_->name, error.data()));
    }
    return absl::OkStatus();
  }

  HostRoot CurrentRoot(VcpuId vcpu) override {
    return FromC(ops_->current_root(mmu_, vcpu));
  }

  FaultResolution HandleHostFault(VcpuId vcpu, uint64_t gva, AccessKind kind,
                                  bool user,
                                  uint32_t host_error_code) override {
    const shadowdiff_fault_resolution r = ops_->handle_fault(
        mmu_, vcpu, gva, static_cast<shadowdiff_access>(ToC(kind)), user,
        host_error_code);
    switch (r.kind) {
      case SHADOWDIFF_RETRY:
        return FaultResolution::Retry();
      case SHADOWDIFF_INJECT_PF:
        return FaultResolution::Inject(r.guest_error_code);
      case SHADOWDIFF_EMULATE:
        return FaultResolution::Emulate(r.gpa);
      default:
        bridge_.services->ReportMmuError(absl::StrFormat(
            "handle_fault returned resolution kind %d, which is none of "
            "SHADOWDIFF_RETRY, SHADOWDIFF_INJECT_PF, SHADOWDIFF_EMULATE",
            r.kind));
        return FaultResolution::Retry();
    }
  }

  void EmulatedWrite(VcpuId vcpu, uint64_t gpa,
                     std::span<const uint8_t> bytes) override {
    ops_->emulated_write(mmu_, vcpu, gpa, bytes.data(), bytes.size());
  }

  bool LoadCr3(VcpuId vcpu, uint64_t source) override {
    return ops_->load_cr3(mmu_, vcpu, source);
  }

  bool SetControls(VcpuId vcpu, const GuestControls& controls) override {
    const shadowdiff_controls c_controls = ToC(controls);
    return ops_->set_controls(mmu_, vcpu, &c_controls);
  }

  void Invlpg(VcpuId vcpu, uint64_t gva) override {
    ops_->invlpg(mmu_, vcpu, gva);
  }

  bool Invpcid(VcpuId vcpu, InvpcidType type, uint32_t pcid,
               uint64_t gva) override {
    return ops_->invpcid(mmu_, vcpu, static_cast<uint32_t>(type), pcid, gva);
  }

  GuestPagingState CurrentState(VcpuId vcpu) const override {
    shadowdiff_paging_state state = {};
    ops_->current_state(mmu_, vcpu, &state);
    return FromC(state);
  }

  KeptRootList KeptRoots() const override {
    KeptRootList kept;
    if (ops_->kept_roots == nullptr) return kept;
    std::array<shadowdiff_kept_root, 16> roots = {};
    const size_t n = std::min(
        ops_->kept_roots(mmu_, roots.data(), roots.size()), roots.size());
    for (size_t i = 0; i < n; ++i) {
      kept.push_back({FromC(roots[i].root), FromC(roots[i].guest)});
    }
    return kept;
  }

  std::vector<Counter> Counters() const override { return {}; }

  bool WritesTablesInPlace() const override { return true; }

 private:
  const shadowdiff_mmu_ops* ops_;
  shadowdiff_mmu* mmu_;
  HostBridge bridge_ = {};
};

MmuCapabilities FromC(const shadowdiff_capabilities& caps) {
  return {.modes = caps.modes & MmuCapabilities::kAllModes,
          .controls = caps.controls & MmuCapabilities::kAllControls,
          .gbpages = caps.gbpages,
          .max_vcpus = static_cast<int>(caps.max_vcpus)};
}

}  // namespace

absl::StatusOr<MmuInfo> CMmuInfo(const shadowdiff_mmu_ops* ops) {
  if (ops == nullptr) return absl::InvalidArgumentError("no ops table");
  if (ops->abi_version != SHADOWDIFF_MMU_ABI_VERSION) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "MMU '%s' is built against shadowdiff/mmu.h ABI %d, this shadowdiff "
        "has ABI %d: rebuild it",
        ops->name == nullptr ? "?" : ops->name, ops->abi_version,
        SHADOWDIFF_MMU_ABI_VERSION));
  }
  if (ops->name == nullptr || ops->create == nullptr ||
      ops->destroy == nullptr || ops->start == nullptr ||
      ops->current_root == nullptr || ops->handle_fault == nullptr ||
      ops->emulated_write == nullptr || ops->load_cr3 == nullptr ||
      ops->set_controls == nullptr || ops->invlpg == nullptr ||
      ops->invpcid == nullptr || ops->current_state == nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "MMU '%s': its ops table lacks a required entry point (only "
        "kept_roots may be NULL)",
        ops->name == nullptr ? "?" : ops->name));
  }
  MmuInfo info;
  info.name = ops->name;
  info.summary = ops->summary == nullptr ? "" : ops->summary;
  info.switches = ops->switches == nullptr ? "" : ops->switches;
  info.capabilities = FromC(ops->capabilities);
  info.factory = [ops](std::string_view switches)
      -> absl::StatusOr<std::unique_ptr<GuestMmu>> {
    std::array<char, kErrorBytes> error = {};
    const std::string text(switches);
    shadowdiff_mmu* mmu = ops->create(text.c_str(), error.data(), error.size());
    if (mmu == nullptr) {
      error.back() = '\0';
      return absl::InvalidArgumentError(absl::StrFormat(
          "MMU '%s' refuses switches '%s': %s", ops->name, text, error.data()));
    }
    return std::make_unique<CMmu>(ops, mmu);
  };
  return info;
}

}  // namespace shadowdiff::host

extern "C" bool shadowdiff_register_mmu(const shadowdiff_mmu_ops* ops) {
  absl::StatusOr<shadowdiff::host::MmuInfo> info =
      shadowdiff::host::CMmuInfo(ops);
  absl::Status status = info.ok()
                            ? shadowdiff::host::RegisterMmu(*std::move(info))
                            : info.status();
  if (!status.ok()) {
    std::fprintf(stderr, "shadowdiff_register_mmu: %s\n",
                 std::string(status.message()).c_str());
    return false;
  }
  return true;
}
