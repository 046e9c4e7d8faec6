#ifndef SHADOWDIFF_IMPL_LAZY_MMU_H_
#define SHADOWDIFF_IMPL_LAZY_MMU_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_services.h"
#include "impl/guest_walker.h"

namespace shadowdiff::impl {

// An MMU that behaves like a TLB (SDM 4.10), and nothing more: it never
// write-protects guest tables, so the guest changes them with no exit, and
// it keeps each translation it made until the guest invalidates it (INVLPG,
// MOV to CR3, MOV to CR4, INVPCID) or takes a page fault on it. Every host
// leaf comes from one whole guest walk made at a host fault, so it holds no
// paging-structure cache. Legal by construction: the architectural oracle
// must never report it, and the strict one does at the first stale use.
//
// Address spaces are kept per PCID, each its own host root; global
// translations stay in the space that made them (a processor may, not must,
// use them in other PCIDs).
class LazyMmu final : public host::GuestMmu {
 public:
  LazyMmu() = default;

  std::string_view Name() const override { return "lazy"; }
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
  std::vector<host::Counter> Counters() const override;

 private:
  // A translation made from a guest walk: the guest page it lies in.
  struct Made {
    uint64_t guest_base = 0;
    uint64_t guest_size = 0;
    bool global = false;
  };
  // One PCID's translations and the host tables that hold them.
  struct AddressSpace {
    uint64_t root_hfn = 0;  // 0: not built yet
    std::vector<uint64_t> table_hfns;
    // By 4 KB gva page.
    absl::flat_hash_map<uint64_t, Made> made;
    host::GuestPagingState state;  // as last loaded under this PCID
  };
  enum class Keep { kNothing, kGlobal };

  uint32_t CurrentPcid() const;
  AddressSpace& Current();
  absl::StatusOr<uint64_t> LeafSpteAddress(AddressSpace& space, uint64_t gva);
  // Drops the translations of `space` that `drop` selects, and flushes them.
  template <typename Drop>
  void DropWhere(AddressSpace& space, Drop drop);
  void DropPage(AddressSpace& space, uint64_t gva, Keep keep);
  void DropSpace(AddressSpace& space, Keep keep);
  void DropEverything();

  host::HostServices* host_ = nullptr;
  std::optional<GuestWalker> walker_;
  host::GuestPagingState state_;
  absl::flat_hash_map<uint32_t, AddressSpace> spaces_;
  BugSet no_bugs_;
  uint64_t host_faults_ = 0;
  uint64_t guest_faults_ = 0;
  uint64_t flushes_ = 0;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_LAZY_MMU_H_
