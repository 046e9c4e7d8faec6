#ifndef SHADOWDIFF_HOST_GUEST_MMU_H_
#define SHADOWDIFF_HOST_GUEST_MMU_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "host/guest_state.h"
#include "host/host_services.h"

namespace shadowdiff::host {

// The root the host walker starts from.
//  k4Level: a 4-level table of 64-bit entries at hpa.
//  kPae:    a 4-entry root of 64-bit entries at hpa (32-byte aligned),
//           indexed by gva bits 31:30, each pointing at a 64-bit-format PD;
//           only P and the frame address are used in these four entries (as
//           in KVM's pae_root for 32-bit and PAE guests). gvas are 32-bit
//           there.
struct HostRoot {
  enum class Kind { k4Level, kPae };
  Kind kind = Kind::k4Level;
  uint64_t hpa = 0;

  bool operator==(const HostRoot&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const HostRoot& root) {
    return H::combine(std::move(h), root.kind, root.hpa);
  }
};

// A root the MMU keeps besides the current one, with the guest state it
// shadows, so the audit can check it against the guest's tables.
struct KeptRoot {
  HostRoot root;
  GuestPagingState guest;
};
// An MMU keeps a few at most; the audit asks for them after nearly every op.
using KeptRootList = absl::InlinedVector<KeptRoot, 4>;

// What the MMU decided about a host page fault.
struct FaultResolution {
  enum class Kind {
    kRetry,             // tables fixed: run the access again
    kInjectGuestFault,  // the guest takes #PF with this error code, CR2 = gva
    kEmulate,           // the access is emulated at this gpa (stores go
                        // through EmulatedWrite; a gpa outside RAM is MMIO)
  };
  Kind kind = Kind::kRetry;
  uint32_t guest_error_code = 0;
  uint64_t gpa = 0;

  static FaultResolution Retry() { return {}; }
  static FaultResolution Inject(uint32_t error_code) {
    return {Kind::kInjectGuestFault, error_code, 0};
  }
  static FaultResolution Emulate(uint64_t gpa) {
    return {Kind::kEmulate, 0, gpa};
  }
};

struct Counter {
  std::string name;
  uint64_t value = 0;
};

// The MMU under test: the hypervisor's software half of guest translation.
//
// The host CPU (host/host_cpu.h) walks only the tables this MMU builds in host
// memory and caches what it finds in its TLB. A guest access that misses or
// lacks rights becomes a host page fault handed to HandleHostFault. Changes the
// guest makes go through EmulatedWrite (emulated stores and writes by gpa),
// Invlpg, LoadCr3 and SetControls. The TLB is only flushed when the MMU asks,
// so a forgotten flush is observable.
//
// Every call that concerns one vCPU names it (host/guest_state.h: cases have
// one, kBootVcpu, today); an MMU that declares max_vcpus = 1 in its
// capabilities is only ever given kBootVcpu.
//
// Life cycle: Start once, with guest RAM already filled in; then the runner
// loads the case's initial CR3 through LoadCr3, then runs the ops. Before that
// first LoadCr3, CR3 is 0 and the PDPTE registers are zero.
//
// To plug in another MMU: implement this class (an adapter over the real code
// usually maps each call onto one entry point) and register it
// (host/mmu_registry.h), or write it in C against include/shadowdiff/mmu.h.
class GuestMmu {
 public:
  virtual ~GuestMmu() = default;

  virtual std::string_view Name() const = 0;

  virtual absl::Status Start(HostServices& host,
                             const GuestControls& controls) = 0;

  // The root the host walker must use now (built on demand).
  virtual HostRoot CurrentRoot(VcpuId vcpu) = 0;

  // A host page fault on gva while performing `kind` at the given privilege.
  // host_error_code is the host walker's (SDM 4.7 layout).
  virtual FaultResolution HandleHostFault(VcpuId vcpu, uint64_t gva,
                                          AccessKind kind, bool user,
                                          uint32_t host_error_code) = 0;

  // An emulated write of bytes at gpa: the MMU brings its shadows up to date
  // and writes guest memory through HostServices::WriteGuest.
  virtual void EmulatedWrite(VcpuId vcpu, uint64_t gpa,
                             std::span<const uint8_t> bytes) = 0;

  // MOV to CR3 of `source`, bit 63 included (kCr3NoFlush). False means #GP
  // (bit 63 with CR4.PCIDE=0, a PAE PDPTE with reserved bits): nothing
  // changed.
  virtual bool LoadCr3(VcpuId vcpu, uint64_t source) = 0;

  // MOV to CR0/CR4 or WRMSR to EFER changing one of the controls (the mode
  // never changes). False means #GP, nothing changed.
  virtual bool SetControls(VcpuId vcpu, const GuestControls& controls) = 0;

  virtual void Invlpg(VcpuId vcpu, uint64_t gva) = 0;

  // INVPCID; gva counts for kAddress only. False means #GP (CR4.PCIDE=0 and
  // a kAddress or kContext of a PCID other than 0): nothing changed.
  virtual bool Invpcid(VcpuId vcpu, InvpcidType type, uint32_t pcid,
                       uint64_t gva) = 0;

  // The guest state the MMU believes is current (CR3, controls, PDPTEs).
  virtual GuestPagingState CurrentState(VcpuId vcpu) const = 0;

  // Roots other than the current one that the MMU keeps and may switch back to.
  virtual KeptRootList KeptRoots() const = 0;

  virtual std::vector<Counter> Counters() const = 0;

  // A promise the architectural oracle holds the MMU to: that its tables
  // follow the guest's exactly, but for the tables in the host frames
  // listed (out-of-sync shadow pages, which may lag until the guest
  // invalidates). A translation the host walks to through none of them must
  // then match the current guest walk (its frame, and no right the walk
  // does not give); the host TLB is judged by the architecture alone.
  // nullopt, the default, promises nothing.
  virtual std::optional<std::vector<uint64_t>> OutOfSyncTables(
      VcpuId vcpu) const {
    return std::nullopt;
  }

  // True when the MMU writes its tables through pointers into the host's
  // table frames (HostServices::TableFrames) rather than with WriteSpte: the
  // host then cannot tell which tables changed and remembers none of them.
  virtual bool WritesTablesInPlace() const { return false; }
};

}  // namespace shadowdiff::host

#endif  // SHADOWDIFF_HOST_GUEST_MMU_H_
