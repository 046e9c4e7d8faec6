#ifndef SHADOWDIFF_IMPL_ROOTS_H_
#define SHADOWDIFF_IMPL_ROOTS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "impl/counters.h"
#include "impl/role.h"
#include "impl/shadow_tables.h"

namespace shadowdiff::impl {

// Where the host walk starts.
//  4-level guests: the shadow page of the guest PML4. The roots of the last
//  few address spaces are kept, so a CR3 switch back is a lookup, and they
//  stay exact meanwhile (their tables are write-protected like any other).
//  PAE and 32-bit guests: a 4-entry PAE root, one entry per GB of gva: the
//  shadow PD of each PDPTE register (PAE), or the four quadrant shadow PDs of
//  the guest PD (32-bit).
class Roots {
 public:
  static constexpr size_t kMaxKeptRoots = 3;

  Roots(ShadowTables& tables, MmuCounters& counters)
      : tables_(tables), counters_(counters) {}

  // What a switch to another root does to the host TLB, which has one tag
  // for the whole guest: flushes it (always right), or keeps it (the
  // pcid-noflush-keeps-host-tlb bug).
  enum class OnSwitch { kFlushHostTlb, kKeepHostTlb };

  // Points the host at the shadow of `state` (CR3 load, PDPTE reload, role
  // change) and queues the TLB flushes the switch needs.
  absl::Status Load(const host::GuestPagingState& state, const Role& base,
                    OnSwitch on_switch = OnSwitch::kFlushHostTlb);

  // The root to walk for `state`; rebuilds what was zapped since Load (or
  // loads `state` if nothing was loaded yet).
  absl::StatusOr<host::HostRoot> Current(const host::GuestPagingState& state,
                                         const Role& base);

  // Forgets the current and kept 4-level roots: they were built under
  // another role. The next Load switches to a root of the new one.
  void Forget() {
    current_.reset();
    kept_.clear();
  }

  // Whether the last Load found its root built already (a kept root, the
  // current one, or PAE PDs all cached): nothing was built afresh.
  bool last_load_reused() const { return last_load_reused_; }

  // The kept 4-level roots still built, as shadows of their CR3 under the
  // current controls.
  host::KeptRootList Kept(const host::GuestPagingState& current) const;

 private:
  struct RootKey {
    uint64_t cr3 = 0;
    uint64_t gfn = 0;
    Role role;
  };

  absl::Status Load4Level(const host::GuestPagingState& state, const Role& base,
                          OnSwitch on_switch);
  absl::Status LoadPae(const host::GuestPagingState& state, const Role& base);

  ShadowTables& tables_;
  MmuCounters& counters_;
  bool loaded_ = false;
  bool last_load_reused_ = false;
  // 4-level guests.
  std::optional<RootKey> current_;
  // Most recent first; one more than kept while a switch pushes out the last.
  absl::InlinedVector<RootKey, kMaxKeptRoots + 1> kept_;
  // PAE and 32-bit guests: the one PAE root frame, allocated once.
  std::optional<uint64_t> pae_root_hfn_;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_ROOTS_H_
