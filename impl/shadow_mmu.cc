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
#include "impl/unsync.h"
#include "impl/write_emulation.h"

namespace shadowdiff::impl {

struct ShadowMmu::Parts {
  Parts(host::HostServices& host, const Options& options, MmuCounters& counters)
      : tables(host, options.bugs, counters),
        walker(host, options.bugs),
        roots(tables, counters),
        unsync(tables, options.bugs, counters),
        faults(tables, roots, walker, options.unsync ? &unsync : nullptr,
               options.bugs, counters),
        writes(tables, options.bugs, counters) {}

  ShadowTables tables;
  GuestWalker walker;
  Roots roots;
  OutOfSyncPages unsync;
  FaultHandler faults;
  WriteEmulator writes;
};

ShadowMmu::ShadowMmu() : ShadowMmu(Options{}) {}

ShadowMmu::ShadowMmu(Options options) : options_(options) {}

// The host frames are the host's: the host may be gone by now.
ShadowMmu::~ShadowMmu() = default;

std::string_view ShadowMmu::Name() const {
  if (naive()) return "naive";
  if (unsync()) return "shadow-unsync";
  return deferred() ? "shadow-deferred" : "shadow";
}

absl::Status ShadowMmu::Start(host::HostServices& host,
                              const host::GuestControls& controls) {
  if (parts_ != nullptr) {
    return absl::FailedPreconditionError("the MMU was already started");
  }
  state_ = {};
  state_.controls = controls;
  parts_ = std::make_unique<Parts>(host, options_, counters_);
  parts_->tables.set_defer_guest_flushes(deferred());
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
  // SDM 4.10.4.1: the guest's #PF invalidates what it held for the page,
  // so a stale spte of an out-of-sync page gives one spurious fault at most.
  if (resolution.kind == host::FaultResolution::Kind::kInjectGuestFault) {
    if (unsync()) {
      if (const std::optional<uint64_t> leaf =
              parts_->tables.LeafSpteFor(CurrentRoot(vcpu), gva)) {
        parts_->unsync.SyncLeaf(state_.controls, *leaf, gva);
      }
    }
    PayOwedFor(gva);
  }
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
  // Bit 63 is reserved without PCIDs; with them it spares the new PCID's
  // translations (SDM 4.10.4.1), which the eager mode never lets go stale.
  if ((source & host::kCr3NoFlush) != 0 && !state_.controls.cr4_pcide) {
    return false;
  }
  const uint64_t cr3 = source & ~host::kCr3NoFlush;
  const bool no_flush = (source & host::kCr3NoFlush) != 0;
  if (state_.controls.mode == host::GuestMode::kPae) {
    const std::optional<std::array<uint64_t, 4>> pdptes =
        LoadPdptes(parts_->tables.host(), cr3);
    if (!pdptes.has_value()) return false;
    state_.pdptes = *pdptes;
  }
  // SDM 4.10.4.1: the load invalidates the new PCID's translations, unless
  // bit 63 says keep them. cr3-reload-no-flush: KVM's same-value shortcut
  // (d835dfecd00f, 2007, "Don't bother the mmu if cr3 load doesn't change
  // cr3"), which 21823fbda552 (2021) made invalidate the PCID again.
  const bool same_value = cr3 == state_.cr3;
  // Another PCID on the same root: the host TLB, with one tag for both,
  // holds what the guest's changes owe the old PCID, which the new one never
  // cached.
  const bool pcid_changes =
      state_.controls.cr4_pcide && (cr3 & 0xFFF) != (state_.cr3 & 0xFFF);
  const bool keep_host_tlb = no_flush && Has(Bug::kPcidNoflushKeepsHostTlb);
  if ((!no_flush && !(same_value && Has(Bug::kCr3ReloadNoFlush))) ||
      (pcid_changes && !keep_host_tlb)) {
    parts_->tables.PayAllOwed();
  }
  state_.cr3 = cr3;
  if (naive()) parts_->tables.ZapAll();
  // The host TLB has one tag for the guest: another root's translations must
  // go, bit 63 or not. pcid-noflush-keeps-host-tlb: bit 63 taken to spare
  // the host TLB too. KVM honours it since 956bf3531fba (2018) but tags the
  // host TLB with the guest's PCID (root_hpa | PCID in the loaded CR3), and
  // flushes the whole guest TLB where it cannot tell (e45e9e3998f0, 2021).
  Reload(keep_host_tlb ? Roots::OnSwitch::kKeepHostTlb
                       : Roots::OnSwitch::kFlushHostTlb);
  // Out-of-sync pages under the new root catch up, but on a reload of the
  // same root and PCID with bit 63, which invalidates nothing. KVM lets bit
  // 63 skip the sync of any cached root (956bf3531fba); here the skip is
  // taken only where nothing else changed, since an out-of-sync page shared
  // with another address space may hold entries made under another PCID,
  // which this one never cached (SDM 4.10.1).
  // cr3-cached-root-skips-sync: a switch to a root found built skips the
  // sync, the fast-switch shortcut of prev_roots (7c390d350f8b, 2018) taken
  // without its condition, which 21823fbda552 (2021) restored for MOV CR3
  // without bit 63.
  const bool invalidates_nothing = no_flush && same_value;
  const bool skips_sync =
      Has(Bug::kCr3CachedRootSkipsSync) && parts_->roots.last_load_reused();
  if (!invalidates_nothing && !skips_sync) SyncCurrentRoot(vcpu);
  parts_->tables.CommitFlushes();
  return true;
}

bool ShadowMmu::SetControls(host::VcpuId vcpu,
                            const host::GuestControls& controls) {
  if (controls == state_.controls) return true;
  const std::optional<host::GuestPagingState> next =
      StateAfterControlChange(parts_->tables.host(), state_, controls);
  if (!next.has_value()) return false;
  if (BaseRole(controls, options_.bugs) !=
      BaseRole(state_.controls, options_.bugs)) {
    parts_->roots.Forget();
  }
  if (parts_->tables.pages().size() > 0) {
    ++counters_.control_changes_with_live_shadows;
  }
  // SDM 4.10.4.1: changing CR4.PGE, or CR4.PCIDE from 1 to 0, invalidates
  // every translation. pge-toggle-no-flush: KVM flushed on a PGE change only
  // through the MMU reset, until a91a7c709600 (2021) and b5f61c035d49 (2022)
  // asked for the guest TLB flush itself.
  const bool pge_changes = controls.cr4_pge != state_.controls.cr4_pge;
  const bool pcide_cleared = state_.controls.cr4_pcide && !controls.cr4_pcide;
  if ((pge_changes && !Has(Bug::kPgeToggleNoFlush)) || pcide_cleared) {
    parts_->tables.PayAllOwed();
  }
  state_ = *next;
  Reload();
  // More than SDM 4.10.4.1 asks for a CR0.WP or EFER.NXE change, which
  // invalidates nothing: but the pages of the old role are unreachable now,
  // and syncing is always allowed.
  SyncCurrentRoot(vcpu);
  parts_->tables.CommitFlushes();
  return true;
}

void ShadowMmu::Reload(Roots::OnSwitch on_switch) {
  const Role base = BaseRole(state_.controls, options_.bugs);
  if (!parts_->roots.Load(state_, base, on_switch).ok()) {
    parts_->tables.ZapAll();
    // With every frame back, only CurrentRoot can still fail, and says so.
    parts_->roots.Load(state_, base, on_switch).IgnoreError();
  }
}

// invlpg-large-partial: only the 4 KB page holding gva. No upstream fix
// matches it closely; it is of the class of 1b2dc7360463 (FNAME(invlpg)
// flushing another range than the one it zapped).
void ShadowMmu::PayOwedFor(uint64_t gva) {
  uint64_t span = uint64_t{2} << 20;
  if (state_.controls.mode == host::GuestMode::k32Bit) span = uint64_t{4} << 20;
  if (state_.controls.gbpages) span = uint64_t{1} << 30;
  if (Has(Bug::kInvlpgLargePartial)) span = 0x1000;
  const uint64_t canonical =
      static_cast<uint64_t>(static_cast<int64_t>(gva << 16) >> 16);
  parts_->tables.PayOwed(canonical & ~(span - 1), span);
}

void ShadowMmu::Invlpg(host::VcpuId vcpu, uint64_t gva) {
  if (state_.controls.mode != host::GuestMode::k4Level && (gva >> 32) != 0) {
    return;
  }
  InvalidateAddress(vcpu, gva);
  parts_->tables.CommitFlushes();
}

void ShadowMmu::SyncCurrentRoot(host::VcpuId vcpu) {
  if (unsync()) {
    parts_->unsync.SyncReachable(state_.controls, CurrentRoot(vcpu));
  }
}

void ShadowMmu::InvalidateAddress(host::VcpuId vcpu, uint64_t gva) {
  // The synced shadows are never stale, but the guest changed its view of
  // gva: drop the leaf (KVM's invlpg), which flushes what the TLB holds. In
  // the deferred-flush mode the flushes the guest's own changes owe for the
  // page are due now too. invlpg-ignored: neither is made, as when
  // kvm_mmu_invlpg skipped the hardware flush (05b29633c7a9, 2021).
  const bool ignored = Has(Bug::kInvlpgIgnored);
  if (ignored) parts_->tables.BeginGuestChange();
  if (const std::optional<uint64_t> leaf =
          parts_->tables.LeafSpteFor(CurrentRoot(vcpu), gva)) {
    const bool synced =
        unsync() && parts_->unsync.SyncLeaf(state_.controls, *leaf, gva);
    if (!synced) parts_->tables.ZapSpte(*leaf);
  }
  if (ignored) {
    parts_->tables.EndGuestChange();
  } else {
    PayOwedFor(gva);
  }
}

bool ShadowMmu::Invpcid(host::VcpuId vcpu, host::InvpcidType type,
                        uint32_t pcid, uint64_t gva) {
  const bool one_pcid = type == host::InvpcidType::kAddress ||
                        type == host::InvpcidType::kContext;
  if (one_pcid && pcid != 0 && !state_.controls.cr4_pcide) return false;
  // An address in the current PCID is invalidated as by INVLPG; the wider
  // types drop no leaf (synced shadows are never stale) but sync the
  // out-of-sync pages of the current root when they cover its PCID. What
  // the guest's changes owe is paid whatever the PCID: the host TLB has one
  // tag for every PCID that shares a root.
  const bool current_pcid =
      pcid == (state_.controls.cr4_pcide ? (state_.cr3 & 0xFFF) : 0);
  if (type == host::InvpcidType::kAddress && current_pcid) {
    Invlpg(vcpu, gva);
    return true;
  }
  if (type == host::InvpcidType::kAddress) {
    PayOwedFor(gva);
  } else {
    parts_->tables.PayAllOwed();
    // A type that invalidates the current PCID's translations reaches the
    // out-of-sync pages under its root.
    const bool covers_current =
        type != host::InvpcidType::kContext || current_pcid;
    if (covers_current) SyncCurrentRoot(vcpu);
  }
  parts_->tables.CommitFlushes();
  return true;
}

host::GuestPagingState ShadowMmu::CurrentState(host::VcpuId vcpu) const {
  return state_;
}

host::KeptRootList ShadowMmu::KeptRoots() const {
  if (parts_ == nullptr) return {};
  return parts_->roots.Kept(state_);
}

std::optional<std::vector<uint64_t>> ShadowMmu::OutOfSyncTables(
    host::VcpuId vcpu) const {
  if (parts_ == nullptr) return std::vector<uint64_t>{};
  return parts_->tables.UnsyncFrames();
}

std::vector<host::Counter> ShadowMmu::Counters() const {
  return counters_.List();
}

const PageCache& ShadowMmu::pages() const { return parts_->tables.pages(); }

const Rmap& ShadowMmu::rmap() const { return parts_->tables.rmap(); }

}  // namespace shadowdiff::impl
