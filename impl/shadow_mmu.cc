#include "impl/shadow_mmu.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_services.h"
#include "impl/fault_handler.h"
#include "impl/guest_walker.h"
#include "impl/role.h"
#include "impl/roots.h"
#include "impl/shadow_tables.h"
#include "impl/write_emulation.h"

namespace shadowdiff::impl {

struct ShadowMmu::Parts {
  Parts(host::HostServices& host, const BugSet& bugs, MmuCounters& counters)
      : tables(host, bugs, counters),
        walker(host, bugs),
        roots(tables, counters),
        faults(tables, roots, walker, bugs, counters),
        writes(tables, bugs, counters) {}

  ShadowTables tables;
  GuestWalker walker;
  Roots roots;
  FaultHandler faults;
  WriteEmulator writes;
};

ShadowMmu::ShadowMmu() : ShadowMmu(Options{}) {}

ShadowMmu::ShadowMmu(Options options) : options_(options) {}

// The host frames are the host's: the host may be gone by now.
ShadowMmu::~ShadowMmu() = default;

std::string_view ShadowMmu::Name() const {
  return naive() ? "naive" : "shadow";
}

absl::Status ShadowMmu::Start(host::HostServices& host,
                              const host::GuestControls& controls) {
  if (parts_ != nullptr) {
    return absl::FailedPreconditionError("the MMU was already started");
  }
  state_ = {};
  state_.controls = controls;
  parts_ = std::make_unique<Parts>(host, options_.bugs, counters_);
  return absl::OkStatus();
}

host::HostRoot ShadowMmu::CurrentRoot(host::VcpuId vcpu) {
  const Role base = BaseRole(state_.controls, options_.bugs);
  absl::StatusOr<host::HostRoot> root = parts_->roots.Current(state_, base);
  if (!root.ok()) {
    parts_->tables.ZapAll();
    root = parts_->roots.Current(state_, base);
  }
  if (!root.ok()) {
    // Not even one root fits in the host's frame budget.
    std::fprintf(stderr, "shadow MMU: %s\n", root.status().ToString().c_str());
    std::abort();
  }
  parts_->tables.CommitFlushes();
  return *root;
}

host::FaultResolution ShadowMmu::HandleHostFault(host::VcpuId vcpu,
                                                 uint64_t gva,
                                                 host::AccessKind kind,
                                                 bool user,
                                                 uint32_t host_error_code) {
  // The guest walk decides everything; the host's error code says only
  // which of the shadow's sptes was missing.
  const host::FaultResolution resolution =
      parts_->faults.Handle(state_, gva, kind, user);
  parts_->tables.CommitFlushes();
  return resolution;
}

void ShadowMmu::EmulatedWrite(host::VcpuId vcpu, uint64_t gpa,
                              std::span<const uint8_t> bytes) {
  ++counters_.emulated_writes;
  // Each page's shadows catch up with the part written there.
  while (!bytes.empty()) {
    const size_t length =
        std::min<uint64_t>(bytes.size(), 0x1000 - gpa % 0x1000);
    if (naive() && parts_->tables.IsWriteProtected(gpa >> 12)) {
      parts_->tables.ZapAll();
    }
    parts_->writes.Write(state_.controls, gpa, bytes.first(length));
    gpa += length;
    bytes = bytes.subspan(length);
  }
  parts_->tables.CommitFlushes();
}

bool ShadowMmu::LoadCr3(host::VcpuId vcpu, uint64_t source) {
  // Bit 63 is reserved without PCIDs; with them it only spares the guest's
  // TLB, which this MMU never lets go stale.
  if ((source & host::kCr3NoFlush) != 0 && !state_.controls.cr4_pcide) {
    return false;
  }
  const uint64_t cr3 = source & ~host::kCr3NoFlush;
  if (state_.controls.mode == host::GuestMode::kPae) {
    const std::optional<std::array<uint64_t, 4>> pdptes =
        LoadPdptes(parts_->tables.host(), cr3);
    if (!pdptes.has_value()) return false;
    state_.pdptes = *pdptes;
  }
  state_.cr3 = cr3;
  if (naive()) parts_->tables.ZapAll();
  Reload();
  parts_->tables.CommitFlushes();
  return true;
}

bool ShadowMmu::SetControls(host::VcpuId vcpu,
                            const host::GuestControls& controls) {
  if (controls == state_.controls) return true;
  // SDM 4.10.1: CR4.PCIDE can be set only in IA-32e mode with CR3[11:0] = 0.
  if (controls.cr4_pcide && !state_.controls.cr4_pcide &&
      (controls.mode != host::GuestMode::k4Level ||
       (state_.cr3 & 0xFFF) != 0)) {
    return false;
  }
  host::GuestPagingState next = state_;
  next.controls = controls;
  // SDM 4.4.1: in PAE mode, changing CR4.PSE or CR4.PGE reloads the PDPTE
  // registers.
  if (controls.mode == host::GuestMode::kPae &&
      (controls.cr4_pse != state_.controls.cr4_pse ||
       controls.cr4_pge != state_.controls.cr4_pge)) {
    const std::optional<std::array<uint64_t, 4>> pdptes =
        LoadPdptes(parts_->tables.host(), state_.cr3);
    if (!pdptes.has_value()) return false;
    next.pdptes = *pdptes;
  }
  if (BaseRole(controls, options_.bugs) !=
      BaseRole(state_.controls, options_.bugs)) {
    parts_->roots.Forget();
  }
  if (parts_->tables.pages().size() > 0) {
    ++counters_.control_changes_with_live_shadows;
  }
  state_ = next;
  Reload();
  parts_->tables.CommitFlushes();
  return true;
}

void ShadowMmu::Reload() {
  const Role base = BaseRole(state_.controls, options_.bugs);
  if (!parts_->roots.Load(state_, base).ok()) {
    parts_->tables.ZapAll();
    // With every frame back, only CurrentRoot can still fail, and says so.
    parts_->roots.Load(state_, base).IgnoreError();
  }
}

void ShadowMmu::Invlpg(host::VcpuId vcpu, uint64_t gva) {
  if (state_.controls.mode != host::GuestMode::k4Level && (gva >> 32) != 0) {
    return;
  }
  // The shadows are never stale, but INVLPG says the guest changed its view
  // of gva: drop the leaf (KVM's invlpg), which flushes what the TLB holds.
  // With no leaf there, the TLB holds nothing for gva either.
  if (const std::optional<uint64_t> leaf =
          parts_->tables.LeafSpteFor(CurrentRoot(vcpu), gva)) {
    parts_->tables.ZapSpte(*leaf);
  }
  parts_->tables.CommitFlushes();
}

bool ShadowMmu::Invpcid(host::VcpuId vcpu, host::InvpcidType type,
                        uint32_t pcid, uint64_t gva) {
  const bool one_pcid = type == host::InvpcidType::kAddress ||
                        type == host::InvpcidType::kContext;
  if (one_pcid && pcid != 0 && !state_.controls.cr4_pcide) return false;
  // As for INVLPG, the shadows are never stale; an address in the current
  // PCID drops its leaf, and the wider types have nothing to drop.
  const bool current_pcid =
      pcid == (state_.controls.cr4_pcide ? (state_.cr3 & 0xFFF) : 0);
  if (type == host::InvpcidType::kAddress && current_pcid) Invlpg(vcpu, gva);
  return true;
}

host::GuestPagingState ShadowMmu::CurrentState(host::VcpuId vcpu) const {
  return state_;
}

host::KeptRootList ShadowMmu::KeptRoots() const {
  if (parts_ == nullptr) return {};
  return parts_->roots.Kept(state_);
}

std::vector<host::Counter> ShadowMmu::Counters() const {
  return counters_.List();
}

const PageCache& ShadowMmu::pages() const { return parts_->tables.pages(); }

const Rmap& ShadowMmu::rmap() const { return parts_->tables.rmap(); }

}  // namespace shadowdiff::impl
