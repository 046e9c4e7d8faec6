#include "impl/lazy_mmu.h"

#include <array>
#include <utility>

#include "host/spte.h"
#include "impl/fault_handler.h"
#include "impl/role.h"
#include "impl/shadow_tables.h"

namespace shadowdiff::impl {
namespace {

constexpr host::VcpuSet kThisVcpu = host::VcpuSet::Of(host::kBootVcpu);
constexpr uint64_t kPage = 4096;

// Interior host entries grant everything: the leaf decides.
constexpr uint64_t kLink = host::spte::kPresent | host::spte::kWritable |
                           host::spte::kUser | host::spte::kAccessed;

// The bytes a guest leaf at `leaf_level` maps: 4 KB, 2 or 4 MB, 1 GB.
uint64_t GuestPageSize(host::GuestMode mode, int leaf_level) {
  if (leaf_level == 1) return kPage;
  if (mode == host::GuestMode::k32Bit) return uint64_t{4} << 20;
  return kPage << (9 * (leaf_level - 1));
}

}  // namespace

absl::Status LazyMmu::Start(host::HostServices& host,
                            const host::GuestControls& controls) {
  host_ = &host;
  walker_.emplace(host, no_bugs_);
  state_ = {.controls = controls};
  return absl::OkStatus();
}

uint32_t LazyMmu::CurrentPcid() const {
  return state_.controls.cr4_pcide ? static_cast<uint32_t>(state_.cr3 & 0xFFF)
                                   : 0;
}

LazyMmu::AddressSpace& LazyMmu::Current() {
  AddressSpace& space = spaces_[CurrentPcid()];
  space.state = state_;
  return space;
}

host::HostRoot LazyMmu::CurrentRoot(host::VcpuId vcpu) {
  AddressSpace& space = Current();
  if (space.root_hfn == 0) {
    absl::StatusOr<uint64_t> root = host_->AllocateFrame();
    if (!root.ok()) {
      DropEverything();
      root = host_->AllocateFrame();
    }
    if (!root.ok()) {
      host_->ReportMmuError("no host frame left for a root");
      return {};
    }
    Current().root_hfn = *root;
    return {host::HostRoot::Kind::k4Level, *root << 12};
  }
  return {host::HostRoot::Kind::k4Level, space.root_hfn << 12};
}

absl::StatusOr<uint64_t> LazyMmu::LeafSpteAddress(AddressSpace& space,
                                                  uint64_t gva) {
  uint64_t table = space.root_hfn << 12;
  for (int level = 4; level > 1; --level) {
    const uint64_t spte_hpa =
        table + 8 * ((gva >> (12 + 9 * (level - 1))) % 512);
    const uint64_t spte = host_->ReadSpte(spte_hpa);
    if (host::spte::Present(spte)) {
      table = host::spte::FrameAddress(spte);
      continue;
    }
    absl::StatusOr<uint64_t> hfn = host_->AllocateFrame();
    if (!hfn.ok()) return hfn.status();
    space.table_hfns.push_back(*hfn);
    host_->WriteSpte(spte_hpa, (*hfn << 12) | kLink);
    table = *hfn << 12;
  }
  return table + 8 * ((gva >> 12) % 512);
}

host::FaultResolution LazyMmu::HandleHostFault(host::VcpuId vcpu, uint64_t gva,
                                               host::AccessKind kind, bool user,
                                               uint32_t host_error_code) {
  ++host_faults_;
  // The walk of the tables as they are now: what a TLB miss does.
  const GuestWalk walk = walker_->Walk(state_, gva, kind, user);
  AddressSpace& space = Current();
  if (!walk.ok) {
    // SDM 4.10.4.1: the fault invalidates what the processor held for gva.
    ++guest_faults_;
    DropPage(space, gva, Keep::kNothing);
    return host::FaultResolution::Inject(walk.error_code);
  }
  const std::optional<uint64_t> hfn = host_->GfnToHfn(walk.gpa >> 12);
  if (!hfn.has_value()) return host::FaultResolution::Emulate(walk.gpa);
  if (space.root_hfn == 0) CurrentRoot(vcpu);
  absl::StatusOr<uint64_t> leaf = LeafSpteAddress(Current(), gva);
  if (!leaf.ok()) {
    DropEverything();
    return host::FaultResolution::Retry();
  }
  host_->WriteSpte(
      *leaf, LeafSpte(*hfn, LeafAccess(walk, state_.controls, kind, user)));
  host_->FlushTlb(kThisVcpu, gva);
  const uint64_t size = GuestPageSize(state_.controls.mode, walk.leaf_level);
  Current().made[gva & ~(kPage - 1)] = {.guest_base = gva & ~(size - 1),
                                        .guest_size = size,
                                        .global = walk.global};
  return host::FaultResolution::Retry();
}

// Nothing is write-protected: the write only changes guest memory, and the
// translations made from what it overwrote live on until invalidated.
void LazyMmu::EmulatedWrite(host::VcpuId vcpu, uint64_t gpa,
                            std::span<const uint8_t> bytes) {
  host_->WriteGuest(gpa, bytes);
}

template <typename Drop>
void LazyMmu::DropWhere(AddressSpace& space, Drop drop) {
  for (auto it = space.made.begin(); it != space.made.end();) {
    if (!drop(it->first, it->second)) {
      ++it;
      continue;
    }
    absl::StatusOr<uint64_t> leaf = LeafSpteAddress(space, it->first);
    if (leaf.ok()) host_->WriteSpte(*leaf, 0);
    host_->FlushTlb(kThisVcpu, it->first);
    ++flushes_;
    space.made.erase(it++);
  }
}

// Every translation of the guest page holding gva (a large page's 4 KB
// pieces too, SDM 4.10.2.3).
void LazyMmu::DropPage(AddressSpace& space, uint64_t gva, Keep keep) {
  DropWhere(space, [&](uint64_t, const Made& m) {
    return gva - m.guest_base < m.guest_size &&
           !(keep == Keep::kGlobal && m.global);
  });
}

void LazyMmu::DropSpace(AddressSpace& space, Keep keep) {
  DropWhere(space, [&](uint64_t, const Made& m) {
    return !(keep == Keep::kGlobal && m.global);
  });
}

void LazyMmu::DropEverything() {
  for (auto& [pcid, space] : spaces_) {
    space.made.clear();
    for (uint64_t hfn : space.table_hfns) host_->FreeFrame(hfn);
    if (space.root_hfn != 0) host_->FreeFrame(space.root_hfn);
  }
  spaces_.clear();
  host_->FlushTlbAll(kThisVcpu);
  ++flushes_;
}

bool LazyMmu::LoadCr3(host::VcpuId vcpu, uint64_t source) {
  const bool no_flush = (source & host::kCr3NoFlush) != 0;
  if (no_flush && !state_.controls.cr4_pcide) return false;
  const uint64_t cr3 = source & ~host::kCr3NoFlush;
  if (state_.controls.mode == host::GuestMode::kPae) {
    const std::optional<std::array<uint64_t, 4>> pdptes =
        LoadPdptes(*host_, cr3);
    if (!pdptes.has_value()) return false;
    state_.pdptes = *pdptes;
  }
  const uint32_t old_pcid = CurrentPcid();
  state_.cr3 = cr3;
  // The host TLB has one tag for the whole guest: another address space
  // must not find the last one's entries there.
  if (CurrentPcid() != old_pcid) {
    host_->FlushTlbAll(kThisVcpu);
    ++flushes_;
  }
  // SDM 4.10.4.1: the new PCID's non-global translations go, unless the
  // no-flush bit says keep them.
  if (!no_flush) DropSpace(Current(), Keep::kGlobal);
  return true;
}

bool LazyMmu::SetControls(host::VcpuId vcpu,
                          const host::GuestControls& controls) {
  if (controls == state_.controls) return true;
  const std::optional<host::GuestPagingState> next =
      StateAfterControlChange(*host_, state_, controls);
  if (!next.has_value()) return false;
  state_ = *next;
  // Only CR4.PGE and CR4.PCIDE 1 -> 0 require it (SDM 4.10.4.1), but every
  // host leaf's rights were worked out under the old controls (CR0.WP=0
  // makes supervisor-writable leaves of read-only pages): they all go.
  DropEverything();
  return true;
}

// SDM 4.10.4.1: the page in the current PCID and its global translations in
// every PCID.
void LazyMmu::Invlpg(host::VcpuId vcpu, uint64_t gva) {
  const uint32_t current = CurrentPcid();
  for (auto& [pcid, space] : spaces_) {
    if (pcid == current) {
      DropPage(space, gva, Keep::kNothing);
    } else {
      DropWhere(space, [&](uint64_t, const Made& m) {
        return m.global && gva - m.guest_base < m.guest_size;
      });
    }
  }
}

bool LazyMmu::Invpcid(host::VcpuId vcpu, host::InvpcidType type, uint32_t pcid,
                      uint64_t gva) {
  const bool one_pcid = type == host::InvpcidType::kAddress ||
                        type == host::InvpcidType::kContext;
  if (one_pcid && pcid != 0 && !state_.controls.cr4_pcide) return false;
  switch (type) {
    case host::InvpcidType::kAddress:
      if (auto it = spaces_.find(pcid); it != spaces_.end()) {
        DropPage(it->second, gva, Keep::kGlobal);
      }
      break;
    case host::InvpcidType::kContext:
      if (auto it = spaces_.find(pcid); it != spaces_.end()) {
        DropSpace(it->second, Keep::kGlobal);
      }
      break;
    case host::InvpcidType::kAllWithGlobal:
      DropEverything();
      break;
    case host::InvpcidType::kAllButGlobal:
      for (auto& [id, space] : spaces_) DropSpace(space, Keep::kGlobal);
      break;
  }
  return true;
}

host::GuestPagingState LazyMmu::CurrentState(host::VcpuId vcpu) const {
  return state_;
}

host::KeptRootList LazyMmu::KeptRoots() const {
  host::KeptRootList kept;
  for (const auto& [pcid, space] : spaces_) {
    if (pcid == CurrentPcid() || space.root_hfn == 0) continue;
    kept.push_back(
        {{host::HostRoot::Kind::k4Level, space.root_hfn << 12}, space.state});
  }
  return kept;
}

std::vector<host::Counter> LazyMmu::Counters() const {
  return {{"host_faults", host_faults_},
          {"guest_faults_injected", guest_faults_},
          {"translations_dropped", flushes_}};
}

}  // namespace shadowdiff::impl
