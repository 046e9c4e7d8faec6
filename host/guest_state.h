#ifndef SHADOWDIFF_HOST_GUEST_STATE_H_
#define SHADOWDIFF_HOST_GUEST_STATE_H_

#include <array>
#include <cstdint>

// The guest paging state as the hypervisor (the MMU under test) sees it. The
// host module stands on its own: these are plain types, not the case format.
namespace shadowdiff::host {

enum class GuestMode { k32Bit, kPae, k4Level };

enum class AccessKind { kRead, kWrite, kFetch };

// vCPUs are numbered from 0. Cases have one today, kBootVcpu; every MMU call
// that concerns one vCPU names it, and every flush a set of them, so that
// MMUs written now keep working when cases have several.
using VcpuId = uint32_t;
inline constexpr VcpuId kBootVcpu = 0;
inline constexpr int kMaxVcpus = 64;

// A set of vCPUs: bit i is vCPU i.
struct VcpuSet {
  uint64_t bits = 0;

  static constexpr VcpuSet Of(VcpuId vcpu) { return {uint64_t{1} << vcpu}; }
  static constexpr VcpuSet All() { return {~uint64_t{0}}; }
  constexpr bool Has(VcpuId vcpu) const { return (bits >> vcpu) & 1; }
  bool operator==(const VcpuSet&) const = default;
};

// Page-fault error code bits (SDM 4.7); the same layout serves the host's
// own faults and the guest faults the MMU injects.
inline constexpr uint32_t kPfPresent = 1u << 0;
inline constexpr uint32_t kPfWrite = 1u << 1;
inline constexpr uint32_t kPfUser = 1u << 2;
inline constexpr uint32_t kPfReserved = 1u << 3;
inline constexpr uint32_t kPfFetch = 1u << 4;

struct GuestControls {
  GuestMode mode = GuestMode::k32Bit;
  bool cr0_wp = false;
  bool cr4_pse = false;
  bool efer_nxe = false;
  bool gbpages = false;    // the CPU model has 1 GB pages (4-level only)
  bool cr4_pge = false;    // global pages (SDM 4.10.2.4)
  bool cr4_pcide = false;  // PCIDs, 4-level only: CR3[11:0] is the PCID

  bool operator==(const GuestControls&) const = default;
};

// Bit 63 of a MOV to CR3 source: with CR4.PCIDE=1 the load invalidates
// nothing; with CR4.PCIDE=0 it is reserved (#GP).
inline constexpr uint64_t kCr3NoFlush = uint64_t{1} << 63;

// The four INVPCID types (SDM 4.10.4.1).
enum class InvpcidType : uint32_t {
  kAddress = 0,        // one address in one PCID, global entries kept
  kContext = 1,        // one PCID, global entries kept
  kAllWithGlobal = 2,  // every PCID, global entries too
  kAllButGlobal = 3,   // every PCID, global entries kept
};

// Everything that decides how a guest walk goes: the controls, CR3 and, in
// PAE mode, the four PDPTE registers loaded at the last CR3 load.
struct GuestPagingState {
  GuestControls controls;
  uint64_t cr3 = 0;
  std::array<uint64_t, 4> pdptes = {};

  bool operator==(const GuestPagingState&) const = default;
};

}  // namespace shadowdiff::host

#endif  // SHADOWDIFF_HOST_GUEST_STATE_H_
