// Keep-shadows against the naive strategy on a process switch loop: what
// keeping shadow pages across CR3 loads and PTE writes saves, in host faults
// and shadow pages built; and the eager against the deferred-flush mode
// (shadow-deferred), side by side: the host TLB flushes a mode that waits
// for the guest's invalidations saves, and the host faults it costs or not.
//
// The guest: four processes, each with an 8 MB heap, a stack and the kernel
// half shared by all. Each time slice loads the process's CR3, runs the
// scheduler (kernel pages), then touches every page of the process's working
// set once (a quarter of them stored to) and its stack. Working sets drift by
// two pages per slice, and every fourth of its slices a process remaps one of
// its pages mid-slice (a PTE rewrite to another frame, as reclaim or
// copy-on-write do), INVLPGs it and uses it. Both strategies run the same
// sequence (fixed seed).

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "bench/guest_builder.h"
#include "bench/guest_machine.h"
#include "benchmark/benchmark.h"
#include "impl/counters.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff::bench {
namespace {

using Options = impl::ShadowMmu::Options;

constexpr int kProcesses = 4;
constexpr int kSlicesPerProcess = 50;
constexpr int kHeapPages = 2048;  // four guest PTs
constexpr int kStackPages = 4;
constexpr int kWorkingSetPages = 64;
constexpr int kDriftPerSlice = 2;
constexpr int kRemapEvery = 4;  // slices
constexpr int kSpareFrames = 8;
constexpr int kSchedulerPages = 8;
constexpr int kKernelPages = 1024;  // two guest PTs, supervisor only

constexpr uint64_t kHeapBase = 0x0000'0000'0040'0000;
constexpr uint64_t kStackBase = 0x0000'7FFF'FFFF'0000;
constexpr uint64_t kKernelBase = 0xFFFF'8000'0000'0000;
constexpr uint64_t kRamPages = 16384;

uint64_t HeapGva(int page) { return kHeapBase + page * kPageBytes; }

struct Process {
  uint64_t cr3 = 0;
  std::vector<int> working_set;  // heap page numbers, distinct
  std::vector<uint64_t> heap_frames;
  std::deque<uint64_t> spare_frames;
  uint64_t slices = 0;  // run so far
};

class SwitchLoop {
 public:
  explicit SwitchLoop(Options options)
      : machine_(options, kRamPages), random_(42) {
    GuestBuilder& builder = machine_.builder();
    // The kernel's tables hang off a PML4 of their own that no CPU loads;
    // each process's PML4 points at the same kernel PDPT.
    const uint64_t kernel_cr3 = builder.NewAddressSpace();
    for (int i = 0; i < kKernelPages; ++i) {
      builder.Map(kernel_cr3, kKernelBase + i * kPageBytes,
                  builder.AllocatePage(), kPresent | kWritable | kAccessed);
    }
    for (Process& process : processes_) {
      process.cr3 = builder.NewAddressSpace();
      builder.SharePml4Entry(process.cr3, kernel_cr3, kKernelBase);
      for (int i = 0; i < kHeapPages; ++i) {
        process.heap_frames.push_back(builder.AllocatePage());
        builder.Map(process.cr3, HeapGva(i), process.heap_frames.back(),
                    UserPte(process.heap_frames.back()));
      }
      for (int i = 0; i < kStackPages; ++i) {
        const uint64_t gfn = builder.AllocatePage();
        builder.Map(process.cr3, kStackBase + i * kPageBytes, gfn,
                    UserPte(gfn));
      }
      for (int i = 0; i < kSpareFrames; ++i) {
        process.spare_frames.push_back(builder.AllocatePage());
      }
      while (process.working_set.size() < kWorkingSetPages) {
        AddRandomPage(process);
      }
    }
    machine_.Boot(processes_[0].cr3);
  }

  // One time slice of every process, in turn.
  void Round() {
    for (Process& process : processes_) RunSlice(process);
  }

  const impl::MmuCounters& counters() const { return machine_.counters(); }

 private:
  void RunSlice(Process& process) {
    machine_.LoadCr3(process.cr3);
    for (int i = 0; i < kSchedulerPages; ++i) {
      machine_.Read(kKernelBase + i * kPageBytes, /*user=*/false);
    }
    const uint64_t slice = ++process.slices;
    machine_.Write(kKernelBase, slice, /*user=*/false);  // the run queue

    std::vector<int> order = process.working_set;
    std::shuffle(order.begin(), order.end(), random_);
    const bool remap = slice % kRemapEvery == 0;
    for (size_t i = 0; i < order.size(); ++i) {
      if (remap && i == order.size() / 2) Remap(process, order[i]);
      const uint64_t gva = HeapGva(order[i]);
      if (random_() % 4 == 0) {
        machine_.Write(gva, slice, /*user=*/true);
      } else {
        machine_.Read(gva, /*user=*/true);
      }
    }
    for (int i = 0; i < kStackPages; ++i) {
      machine_.Write(kStackBase + i * kPageBytes, slice, /*user=*/true);
    }

    std::uniform_int_distribution<size_t> member(0, kWorkingSetPages - 1);
    for (int i = 0; i < kDriftPerSlice; ++i) {
      process.working_set.erase(process.working_set.begin() + member(random_));
      AddRandomPage(process);
    }
  }

  // Points heap page `page` at a spare frame; the old frame becomes spare.
  void Remap(Process& process, int page) {
    const uint64_t gfn = process.spare_frames.front();
    process.spare_frames.pop_front();
    process.spare_frames.push_back(process.heap_frames[page]);
    process.heap_frames[page] = gfn;
    const uint64_t gva = HeapGva(page);
    machine_.WriteEntry(machine_.builder().PteGpa(process.cr3, gva),
                        UserPte(gfn));
    machine_.mmu().Invlpg(host::kBootVcpu, gva);
  }

  // Adds a heap page not yet in the working set.
  void AddRandomPage(Process& process) {
    std::uniform_int_distribution<int> heap_page(0, kHeapPages - 1);
    std::vector<int>& pages = process.working_set;
    int page;
    do {
      page = heap_page(random_);
    } while (std::find(pages.begin(), pages.end(), page) != pages.end());
    pages.push_back(page);
  }

  GuestMachine machine_;
  std::mt19937_64 random_;
  std::vector<Process> processes_ = std::vector<Process>(kProcesses);
};

// One iteration is one whole run from boot; the counters are per run. Laying
// out the guest and tearing it down are not timed.
void BM_ProcessSwitchLoop(benchmark::State& state, Options options) {
  uint64_t host_faults = 0;
  uint64_t shadow_pages_created = 0;
  uint64_t flushes_single = 0;
  uint64_t flushes_all = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto loop = std::make_unique<SwitchLoop>(options);
    state.ResumeTiming();
    for (int i = 0; i < kSlicesPerProcess; ++i) loop->Round();
    state.PauseTiming();
    host_faults += loop->counters().host_faults;
    shadow_pages_created += loop->counters().shadow_pages_created;
    flushes_single += loop->counters().tlb_flushes_single;
    flushes_all += loop->counters().tlb_flushes_all;
    loop.reset();
    state.ResumeTiming();
  }
  auto per_run = [](uint64_t n) {
    return benchmark::Counter(n, benchmark::Counter::kAvgIterations);
  };
  state.counters["host_faults"] = per_run(host_faults);
  state.counters["shadow_pages_created"] = per_run(shadow_pages_created);
  state.counters["tlb_flushes_single"] = per_run(flushes_single);
  state.counters["tlb_flushes_all"] = per_run(flushes_all);
}

BENCHMARK_CAPTURE(BM_ProcessSwitchLoop, keep_shadows, Options{})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);
BENCHMARK_CAPTURE(BM_ProcessSwitchLoop, deferred_flushes,
                  Options{.defer_flushes = true})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);
BENCHMARK_CAPTURE(BM_ProcessSwitchLoop, naive,
                  Options{.strategy = impl::ShadowMmu::Strategy::kNaive})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

}  // namespace
}  // namespace shadowdiff::bench
