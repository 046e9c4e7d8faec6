#ifndef SHADOWDIFF_BENCH_GUEST_MACHINE_H_
#define SHADOWDIFF_BENCH_GUEST_MACHINE_H_

#include <cstdint>

#include "bench/guest_builder.h"
#include "host/host_cpu.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff::bench {

// A 4-level guest (CR0.WP and EFER.NXE on) with its RAM in one slot, run by
// the host CPU model through the shadow MMU under measurement. Its tables are
// laid out with builder() before Boot; afterwards they change only through
// the MMU (emulated writes), as in a real guest.
//
// Accesses that do not complete abort: a benchmark that quietly measured
// injected guest faults would report the wrong path.
class GuestMachine {
 public:
  GuestMachine(impl::ShadowMmu::Options options, uint64_t ram_pages,
               uint64_t max_table_frames = host::HostCpu::kMaxTableFrames);

  GuestBuilder& builder() { return builder_; }
  impl::ShadowMmu& mmu() { return mmu_; }
  host::HostCpu& cpu() { return cpu_; }
  const impl::MmuCounters& counters() const { return mmu_.counters(); }

  // Starts the MMU on the RAM laid out so far and loads the first CR3.
  void Boot(uint64_t cr3);
  void LoadCr3(uint64_t cr3);

  // 8-byte guest accesses; each returns the host faults it took.
  int Read(uint64_t gva, bool user);
  int Write(uint64_t gva, uint64_t value, bool user);

  // A guest store of one whole entry to its (write-protected) table, which
  // the hypervisor emulates.
  void WriteEntry(uint64_t gpa, uint64_t entry);

 private:
  int Access(uint64_t gva, host::AccessKind kind, uint64_t value, bool user);

  impl::ShadowMmu mmu_;
  host::HostCpu cpu_;
  GuestBuilder builder_;
};

}  // namespace shadowdiff::bench

#endif  // SHADOWDIFF_BENCH_GUEST_MACHINE_H_
