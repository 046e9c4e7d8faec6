#ifndef SHADOWDIFF_HOST_HOST_CPU_H_
#define SHADOWDIFF_HOST_HOST_CPU_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_memory.h"
#include "host/host_services.h"
#include "host/host_tlb.h"
#include "host/host_walker.h"

namespace shadowdiff::host {

// The result of one guest access as the host CPU saw it through the MMU.
struct HostAccessResult {
  enum class Kind {
    kOk,         // done at hpa (value for loads)
    kPageFault,  // the MMU injected #PF: error_code, cr2
    kMmio,       // emulated at a gpa outside RAM
    kLivelock,   // kMaxFaultsPerAccess host faults without success
    kMmuError,   // the MMU reported an internal error (see mmu_error())
  };
  Kind kind = Kind::kOk;
  uint64_t value = 0;
  uint64_t hpa = 0;
  uint64_t gpa = 0;  // known only for emulated accesses
  bool emulated = false;
  uint32_t error_code = 0;
  uint64_t cr2 = 0;
  int host_faults = 0;  // host faults taken by this access
};

// Whether the host TLB is tagged (docs/semantics.md, "The host's exits").
enum class HostTlbTagging {
  // VPID or ASIDs: entries survive VM exits; only the MMU's flushes drop them.
  kTagged,
  // VMX without VPID: every VM entry (each return from the MMU to the guest)
  // flushes the whole host TLB as well.
  kUntagged,
};

// The host CPU: host memory, the host walker, the host TLB, and the loop that
// turns host faults into calls to the MMU under test.
class HostCpu final : public HostServices {
 public:
  // How many host faults one guest access may take before it is a livelock.
  static constexpr int kMaxFaultsPerAccess = 16;
  // Host frames the MMU may hold at once (tables), per case.
  static constexpr uint64_t kMaxTableFrames = 8192;

  // max_table_frames: the frame budget; benchmarks that shadow more guest
  // tables than a case can describe raise it.
  HostCpu(std::vector<MemorySlot> slots, GuestMmu& mmu,
          uint64_t max_table_frames = kMaxTableFrames);
  // A host with no guest yet: Reset gives it one before any use.
  HostCpu();

  // Starts over with another guest and MMU: memory, TLB and flush counts as
  // new, buffers kept (a fuzzer runs case after case on one host).
  void Reset(std::span<const MemorySlot> slots, GuestMmu& mmu,
             HostTlbTagging tlb = HostTlbTagging::kTagged);

  // The MMU returns to the guest after a call that is a VM exit on a real host
  // (a fault, an emulated write, MOV to CR3, INVLPG, a control write): an
  // untagged host TLB is flushed. Access does it itself after a host fault;
  // whoever calls the MMU directly calls this after.
  void EnterGuest();

  // The MMU's first reported internal error, or "" while it has none. Once it
  // has one, Access calls the MMU no more.
  const std::string& mmu_error() const { return mmu_error_; }
  // A guest access of width bytes (1, 2, 4, 8; aligned) at gva. For kWrite,
  // value holds the bytes to store (little endian). Fetches read nothing.
  HostAccessResult Access(uint64_t gva, AccessKind kind, int width,
                          uint64_t value, bool user);

  // Every leaf reachable from root, and every TLB entry, by gva (then size),
  // for the audit: into *out, cleared first, so one buffer serves them all.
  // A root's leaves are remembered until one of its tables changes: the audit
  // asks for every kept root after nearly every op, and they seldom change.
  void Mappings(const HostRoot& root, std::vector<HostMapping>* out);
  void TlbMappings(std::vector<HostMapping>* out) const;

  // The host walk of gva from root without side effects (each level's entry).
  HostWalkTrace Trace(const HostRoot& root, uint64_t gva) const;

  // Appends to *out the guest RAM pages written since the last call (by
  // anyone), as gfns, each once.
  void TakeWrittenGfns(std::vector<uint64_t>* out);

  // The bytes of guest page gfn, or nullptr while it reads as zero (never
  // written, or not RAM): lets a whole page be compared without copying it.
  const uint8_t* GuestPageBytes(uint64_t gfn) const;

  // Writes guest RAM directly, without telling the MMU (case setup only).
  void InitGuest(uint64_t gpa, std::span<const uint8_t> bytes);

  const std::vector<MemorySlot>& slots() const { return slots_; }
  uint64_t tlb_flushes_single() const { return tlb_flushes_single_; }
  uint64_t tlb_flushes_all() const { return tlb_flushes_all_; }

  // HostServices.
  std::optional<uint64_t> GfnToHfn(uint64_t gfn) const override;
  std::span<const MemorySlot> MemorySlots() const override { return slots_; }
  bool ReadGuest(uint64_t gpa, std::span<uint8_t> out) const override;
  bool WriteGuest(uint64_t gpa, std::span<const uint8_t> bytes) override;
  absl::StatusOr<uint64_t> AllocateFrame() override;
  void FreeFrame(uint64_t hfn) override;
  uint64_t ReadSpte(uint64_t hpa) const override;
  void WriteSpte(uint64_t hpa, uint64_t value) override;
  void ReadTable(uint64_t hfn, std::span<uint64_t, spte::kEntriesPerTable> out)
      const override;
  // Cases have one vCPU: a set without it flushes nothing.
  void FlushTlb(VcpuSet vcpus, uint64_t gva) override;
  void FlushTlbAll(VcpuSet vcpus) override;
  TableWindow TableFrames() const override;
  void ReportMmuError(std::string_view message) override;

 private:
  // The TLB entry an access goes through, or the error code of its fault.
  struct Translation {
    bool ok = false;
    HostTlbEntry entry;
    uint32_t error_code = 0;
  };

  Translation Translate(const HostRoot& root, uint64_t gva, AccessKind kind,
                        bool user);
  // The end of an access the MMU chose to emulate at gpa.
  void Emulate(uint64_t gpa, AccessKind kind, std::span<uint8_t> bytes,
               HostAccessResult* result);
  std::optional<uint64_t> GpaToHpa(uint64_t gpa) const;

  struct RememberedMappings {
    uint64_t epoch = 0;  // of the host memory when read; 0: forgotten
    std::vector<HostMapping> mappings;
    std::vector<uint64_t> tables;  // the frames they were read from
  };

  std::vector<MemorySlot> slots_;
  GuestMmu* mmu_;  // never null once a guest is set
  HostMemory memory_;
  HostTlb tlb_;
  std::vector<uint64_t> written_frames_;  // reused by TakeWrittenGfns
  absl::flat_hash_map<HostRoot, RememberedMappings> remembered_;
  uint64_t tlb_flushes_single_ = 0;
  uint64_t tlb_flushes_all_ = 0;
  HostTlbTagging tlb_tagging_ = HostTlbTagging::kTagged;
  // The MMU writes its tables through pointers, unseen by memory_'s change
  // stamps: nothing read from them may be remembered.
  bool tables_written_in_place_ = false;
  std::string mmu_error_;
};

}  // namespace shadowdiff::host

#endif  // SHADOWDIFF_HOST_HOST_CPU_H_
