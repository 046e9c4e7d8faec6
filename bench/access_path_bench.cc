// The host CPU's three ways through one guest access, in ns per access:
//  tlb_hit     the host TLB holds the translation;
//  host_walk   the TLB misses (the gva was flushed from it) and the host walk
//              of the shadow tables finds it;
//  host_fault  the shadow has no leaf for the gva (dropped by INVLPG), so the
//              access faults and the MMU walks the guest tables, installs the
//              spte, and the access retries.
// Each iteration prepares a batch of pages untimed (the flush or the INVLPG)
// and times user reads of them; the time reported is per read.

#include <chrono>
#include <cstdint>

#include "bench/guest_builder.h"
#include "bench/guest_machine.h"
#include "benchmark/benchmark.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff::bench {
namespace {

constexpr uint64_t kBase = 0x0000'0000'0040'0000;
constexpr int kBatch = 64;
// Fixed, because the time reported excludes the untimed preparation that
// Google Benchmark would otherwise run on until its minimum time is reached.
constexpr int kBatches = 20000;

enum class Path { kTlbHit, kHostWalk, kHostFault };

uint64_t Gva(int page) { return kBase + page * kPageBytes; }

void BM_AccessPath(benchmark::State& state, Path path) {
  GuestMachine machine(impl::ShadowMmu::Options{}, 2 * kBatch);
  GuestBuilder& builder = machine.builder();
  const uint64_t cr3 = builder.NewAddressSpace();
  for (int i = 0; i < kBatch; ++i) {
    const uint64_t gfn = builder.AllocatePage();
    builder.Map(cr3, Gva(i), gfn, UserPte(gfn));
  }
  machine.Boot(cr3);
  for (int i = 0; i < kBatch; ++i) machine.Read(Gva(i), /*user=*/true);

  uint64_t host_faults = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      if (path == Path::kHostWalk)
        machine.cpu().FlushTlb(host::VcpuSet::All(), Gva(i));
      if (path == Path::kHostFault)
        machine.mmu().Invlpg(host::kBootVcpu, Gva(i));
    }
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) {
      host_faults += machine.Read(Gva(i), /*user=*/true);
    }
    const auto end = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count() /
                           kBatch);
  }
  // 0, 0 and 1: each path is the one its name says.
  state.counters["host_faults_per_access"] =
      benchmark::Counter(static_cast<double>(host_faults) / kBatch,
                         benchmark::Counter::kAvgIterations);
}

BENCHMARK_CAPTURE(BM_AccessPath, tlb_hit, Path::kTlbHit)
    ->Iterations(kBatches)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_AccessPath, host_walk, Path::kHostWalk)
    ->Iterations(kBatches)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_AccessPath, host_fault, Path::kHostFault)
    ->Iterations(kBatches)
    ->UseManualTime();

}  // namespace
}  // namespace shadowdiff::bench
