#include "impl/roots.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/spte.h"
#include "impl/guest_entry.h"
#include "impl/role.h"
#include "impl/shadow_page.h"

namespace shadowdiff::impl {
namespace {

constexpr uint64_t k4LevelCr3Frame = 0xFFFFFF000;  // bits 35:12
constexpr uint64_t k32BitCr3Frame = 0xFFFFF000;

}  // namespace

absl::Status Roots::Load(const host::GuestPagingState& state, const Role& base,
                         OnSwitch on_switch) {
  absl::Status status = base.guest_levels == 4
                            ? Load4Level(state, base, on_switch)
                            : LoadPae(state, base);
  loaded_ = loaded_ || status.ok();
  return status;
}

absl::Status Roots::Load4Level(const host::GuestPagingState& state,
                               const Role& base, OnSwitch on_switch) {
  Role role = base;
  role.level = 4;
  const RootKey key = {state.cr3, (state.cr3 & k4LevelCr3Frame) >> 12, role};
  auto same_table = [&](const RootKey& other) {
    return other.gfn == key.gfn && other.role == key.role;
  };
  if (current_.has_value() && same_table(*current_)) {
    // The same shadow serves: nothing the TLB holds went stale.
    current_->cr3 = state.cr3;
    last_load_reused_ = true;
    return absl::OkStatus();
  }
  const bool built = tables_.Find(key.gfn, key.role) != nullptr;
  last_load_reused_ = built;
  absl::StatusOr<ShadowPage*> root = tables_.GetPage(key.gfn, key.role);
  if (!root.ok()) return root.status();
  if (built) ++counters_.root_cache_hits;
  kept_.erase(std::remove_if(kept_.begin(), kept_.end(), same_table),
              kept_.end());
  if (current_.has_value()) kept_.insert(kept_.begin(), *current_);
  if (kept_.size() > kMaxKeptRoots) kept_.pop_back();
  current_ = key;
  tables_.SetLiveRoot({host::HostRoot::Kind::k4Level, (*root)->hpa()});
  if (on_switch == OnSwitch::kFlushHostTlb) tables_.FlushAll();
  return absl::OkStatus();
}

absl::Status Roots::LoadPae(const host::GuestPagingState& state,
                            const Role& base) {
  if (!pae_root_hfn_.has_value()) {
    absl::StatusOr<uint64_t> hfn = tables_.host().AllocateFrame();
    if (!hfn.ok()) return hfn.status();
    pae_root_hfn_ = *hfn;
  }
  const uint64_t pae_root = *pae_root_hfn_ << 12;
  tables_.SetLiveRoot({host::HostRoot::Kind::kPae, pae_root});
  bool changed = false;
  bool all_built = true;
  for (int i = 0; i < 4; ++i) {
    const uint64_t entry_hpa = pae_root + 8 * i;
    const uint64_t entry = tables_.host().ReadSpte(entry_hpa);
    std::optional<uint64_t> gfn;
    if (base.guest_levels == 2) {
      gfn = (state.cr3 & k32BitCr3Frame) >> 12;
    } else if ((state.pdptes[i] & guest_entry::kPresent) != 0) {
      gfn = guest_entry::TableGfn(state.pdptes[i], base.guest_levels);
    }
    // Replacing a root entry flushes everything, as a 4-level root switch
    // does: cheaper than a flush of each translation the old entry led to.
    const bool present = host::spte::Present(entry);
    if (!gfn.has_value()) {
      if (present) tables_.FlushAll();
      tables_.ZapSpte(entry_hpa);
      continue;
    }
    const Role role =
        IndirectRole(base, 2, static_cast<uint64_t>(i) << 30, kAccessAll);
    all_built = all_built && tables_.Find(*gfn, role) != nullptr;
    absl::StatusOr<ShadowPage*> pd = tables_.GetPage(*gfn, role);
    if (!pd.ok()) return pd.status();
    if (present && host::spte::FrameAddress(entry) == (*pd)->hpa()) continue;
    if (present) tables_.FlushAll();
    tables_.ZapSpte(entry_hpa);
    tables_.Link(entry_hpa, *pd);
    changed = true;
  }
  if (changed && all_built) ++counters_.root_cache_hits;
  last_load_reused_ = all_built;
  return absl::OkStatus();
}

absl::StatusOr<host::HostRoot> Roots::Current(
    const host::GuestPagingState& state, const Role& base) {
  if (!loaded_) {
    if (absl::Status s = Load(state, base); !s.ok()) return s;
  }
  if (base.guest_levels != 4) {
    return host::HostRoot{host::HostRoot::Kind::kPae, *pae_root_hfn_ << 12};
  }
  // A root zapped since (write flooding of the guest PML4, or everything
  // dropped) is built again, empty.
  absl::StatusOr<ShadowPage*> root =
      tables_.GetPage(current_->gfn, current_->role);
  if (!root.ok()) return root.status();
  const host::HostRoot host_root = {host::HostRoot::Kind::k4Level,
                                    (*root)->hpa()};
  tables_.SetLiveRoot(host_root);
  return host_root;
}

host::KeptRootList Roots::Kept(const host::GuestPagingState& current) const {
  host::KeptRootList roots;
  for (const RootKey& key : kept_) {
    const ShadowPage* page = tables_.Find(key.gfn, key.role);
    if (page == nullptr) continue;
    host::GuestPagingState guest = current;
    guest.cr3 = key.cr3;
    roots.push_back({{host::HostRoot::Kind::k4Level, page->hpa()}, guest});
  }
  return roots;
}

}  // namespace shadowdiff::impl
