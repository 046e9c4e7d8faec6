#ifndef SHADOWDIFF_TESTS_FUZZ_REFERENCE_BACKED_MMU_H_
#define SHADOWDIFF_TESTS_FUZZ_REFERENCE_BACKED_MMU_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "host/guest_mmu.h"
#include "model/paging_state.h"

namespace shadowdiff::testing {

// A deliberately simple MMU for testing the runner and the differ, not a
// product: it walks the guest tables with the model's walker, installs one
// 4 KB host mapping per fault, and throws every host table away whenever a
// guest table, CR3, a control or INVLPG changes anything. Each Flaw makes it
// wrong in exactly one way, so each divergence kind has a double producing it.
class ReferenceBackedMmu final : public host::GuestMmu {
 public:
  enum class Flaw {
    kNone,
    kDropsPresentBitInErrorCode,  // outcome
    kAcceptsReservedPdpte,        // outcome of a CR3 load
    kSetsNoAccessedBits,          // memory
    kKeepsMappingsOnTableWrite,   // mapping
    kMapsEverythingWritable,      // rights
    kPrefetchesNextPage,          // unaccessed
    kForgetsTlbFlush,             // stale-tlb
    kAlwaysRetries,               // livelock
    kSetsUpperAccessedOnFault,    // allowed by the SDM: no divergence
    kSetsLeafAccessedOnFault,     // memory: the faulting entry must not change
  };

  explicit ReferenceBackedMmu(Flaw flaw = Flaw::kNone) : flaw_(flaw) {}

  std::string_view Name() const override { return "reference-backed test MMU"; }
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
  host::KeptRootList KeptRoots() const override { return {}; }
  std::vector<host::Counter> Counters() const override;

 private:
  struct Rights {
    bool writable;
    bool user;
    bool nx;
  };

  bool LoadPdptes(uint64_t cr3, std::array<uint64_t, 4>& pdptes) const;
  void SetAccessedDirty(const std::vector<uint64_t>& entry_gpas, uint64_t leaf,
                        bool dirty);
  void MapPage(uint64_t gva, uint64_t hpa, Rights rights);
  uint64_t TableAt(uint64_t entry_hpa);
  void ZapAll();

  Flaw flaw_;
  host::HostServices* host_ = nullptr;
  model::PagingState state_;
  host::HostRoot root_;
  std::vector<uint64_t> frames_;  // every host table frame, root first
  // Frames ever used as guest tables: never mapped writable again, which is
  // slow but never wrong.
  absl::flat_hash_set<uint64_t> table_gfns_;
  uint64_t faults_ = 0;
  uint64_t zaps_ = 0;
};

}  // namespace shadowdiff::testing

#endif  // SHADOWDIFF_TESTS_FUZZ_REFERENCE_BACKED_MMU_H_
