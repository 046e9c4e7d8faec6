#ifndef SHADOWDIFF_IMPL_SHADOW_MMU_H_
#define SHADOWDIFF_IMPL_SHADOW_MMU_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_services.h"
#include "impl/bug_switches.h"
#include "impl/counters.h"
#include "impl/page_cache.h"
#include "impl/rmap.h"
#include "impl/roots.h"

namespace shadowdiff::impl {

// A KVM-style shadow MMU: shadow page tables in host memory kept exact by
// write-protecting the guest tables they shadow, and kept across CR3 switches
// and guest table writes rather than rebuilt. The parts, each in its file:
//   role.h             what makes two shadows of one guest table differ
//   shadow_page.h      one shadow table, its parents, its flooding count
//   page_cache.h       (gfn, role) -> shadow page, in O(1)
//   rmap.h             gfn -> sptes mapping it, for write protection
//   shadow_tables.h    the tables and their invariants: links, leaves, zaps,
//                      write protection, exact host TLB flushes
//   roots.h            the root per guest mode, and the kept roots
//   guest_walker.h     the MMU's own walk of the guest tables, A/D, #PF codes
//   fault_handler.h    host fault -> inject, emulate, or build the shadow
//   write_emulation.h  emulated writes -> zap or update the shadows
//   unsync.h           out-of-sync last-level pages: unsync, sync
//   bug_switches.h     the bug zoo
//
// It keeps one paging state and one set of roots: its capabilities say one
// vCPU, so every call names kBootVcpu.
class ShadowMmu final : public host::GuestMmu {
 public:
  enum class Strategy {
    kKeepShadows,
    // The benchmark baseline: every shadow page is dropped on any write to a
    // shadowed guest table and on every CR3 load.
    kNaive,
  };
  struct Options {
    BugSet bugs;
    Strategy strategy = Strategy::kKeepShadows;
    // Host TLB flushes that guest table changes make necessary wait for the
    // guest's invalidation (ShadowTables::set_defer_guest_flushes).
    bool defer_flushes = false;
    // Last-level guest tables go out of sync rather than being
    // write-protected (impl/unsync.h); implies defer_flushes, as both rely
    // on the guest's invalidations.
    bool unsync = false;
  };

  ShadowMmu();
  explicit ShadowMmu(Options options);
  ~ShadowMmu() override;

  std::string_view Name() const override;
  absl::Status Start(host::HostServices& host,
                     const host::GuestControls& controls) override;
  host::HostRoot CurrentRoot(host::VcpuId vcpu) override;
  host::FaultResolution HandleHostFault(host::VcpuId vcpu, uint64_t gva,
                                        host::AccessKind kind, bool user,
                                        uint32_t host_error_code) override;
  void EmulatedWrite(host::VcpuId vcpu, uint64_t gpa,
                     std::span<const uint8_t> bytes) override;
  bool LoadCr3(host::VcpuId vcpu, uint64_t source) override;
  bool SetControls(host::VcpuId vcpu,
                   const host::GuestControls& controls) override;
  void Invlpg(host::VcpuId vcpu, uint64_t gva) override;
  bool Invpcid(host::VcpuId vcpu, host::InvpcidType type, uint32_t pcid,
               uint64_t gva) override;
  host::GuestPagingState CurrentState(host::VcpuId vcpu) const override;
  host::KeptRootList KeptRoots() const override;
  // Every mode keeps its tables exact, but for the out-of-sync pages.
  std::optional<std::vector<uint64_t>> OutOfSyncTables(
      host::VcpuId vcpu) const override;
  std::vector<host::Counter> Counters() const override;

  // For tests and benchmarks; valid after Start.
  const MmuCounters& counters() const { return counters_; }
  const PageCache& pages() const;
  const Rmap& rmap() const;

 private:
  struct Parts;

  // Points the roots at state_, dropping every shadow if the host is out of
  // frames.
  void Reload(Roots::OnSwitch on_switch = Roots::OnSwitch::kFlushHostTlb);
  bool naive() const { return options_.strategy == Strategy::kNaive; }
  bool deferred() const { return options_.defer_flushes || options_.unsync; }
  bool unsync() const { return options_.unsync; }
  bool Has(Bug bug) const { return options_.bugs.Has(bug); }
  // What the guest's invalidation of the page holding gva makes the MMU
  // flush: the owed flushes of the largest page that can hold gva in this
  // mode (a guest large page may be shadowed by several 4 KB sptes, SDM
  // 4.10.2.3).
  void PayOwedFor(uint64_t gva);
  // The guest invalidated its translation of gva (INVLPG, INVPCID of one
  // address, its own #PF): the leaf that maps it is dropped, or synced in
  // an out-of-sync page, and what its changes owe for the page is flushed.
  void InvalidateAddress(host::VcpuId vcpu, uint64_t gva);
  // In the out-of-sync mode, every unsync page the current root reaches
  // catches up (a CR3 load, a control change, a wide INVPCID).
  void SyncCurrentRoot(host::VcpuId vcpu);

  Options options_;
  host::GuestPagingState state_;
  MmuCounters counters_;
  std::unique_ptr<Parts> parts_;  // built by Start, once the host is known
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_SHADOW_MMU_H_
