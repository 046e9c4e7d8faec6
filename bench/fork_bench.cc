// A guest that rewrites its PTEs heavily, as fork and copy-on-write make an
// OS do: the write-protecting modes (shadow, shadow-deferred) take an exit
// for every PTE store to a shadowed table, the out-of-sync mode
// (shadow-unsync) one per table and sync, catching up at the guest's own
// invalidations.
//
// The guest: a parent process with a 4 MB heap (two PTs), a child address
// space of the same shape, and a kernel half shared by both that maps every
// frame the layout used (a direct map, through which the kernel writes PTEs
// with plain stores, as Linux does). Each round the kernel forks: for every
// heap page it reads the parent's PTE and stores it, read-only, to the child
// PT and back to the parent PT (copy-on-write), then reloads CR3. The child
// runs briefly, as before an exec: it reads an eighth of its heap and breaks
// copy-on-write on a sixteenth (a new frame stored into its PTE, writable and
// dirty as Linux's wp_page_copy makes it, INVLPG, the write), then exits,
// its PTEs cleared. The parent runs on over its whole heap, breaking
// copy-on-write on a quarter of it. Every mode runs the same sequence.

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/guest_builder.h"
#include "bench/guest_machine.h"
#include "benchmark/benchmark.h"
#include "impl/counters.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff::bench {
namespace {

using Options = impl::ShadowMmu::Options;

constexpr int kHeapPages = 1024;
constexpr int kRounds = 8;
constexpr int kChildReadsEvery = 8;  // pages
constexpr int kChildWritesEvery = 16;
constexpr int kParentWritesEvery = 4;
constexpr uint64_t kRamPages = 8192;

constexpr uint64_t kHeapBase = 0x0000'0000'0040'0000;
constexpr uint64_t kDirectMapBase = 0xFFFF'8880'0000'0000;
constexpr uint64_t kKernelRw = kPresent | kWritable | kAccessed | kDirty;

uint64_t HeapGva(int page) { return kHeapBase + page * kPageBytes; }
uint64_t DirectMapGva(uint64_t gpa) { return kDirectMapBase + gpa; }

class ForkLoop {
 public:
  explicit ForkLoop(Options options) : machine_(options, kRamPages) {
    GuestBuilder& builder = machine_.builder();
    const uint64_t kernel_cr3 = builder.NewAddressSpace();
    parent_cr3_ = builder.NewAddressSpace();
    child_cr3_ = builder.NewAddressSpace();
    for (int i = 0; i < kHeapPages; ++i) {
      parent_frames_.push_back(builder.AllocatePage());
      builder.Map(parent_cr3_, HeapGva(i), parent_frames_.back(),
                  UserPte(parent_frames_.back()));
      child_frames_.push_back(builder.AllocatePage());
      // Not present until the first fork, but the child's tables exist.
      builder.Map(child_cr3_, HeapGva(i), 0, 0);
    }
    for (int i = 0; i < kHeapPages; ++i) {
      parent_ptes_.push_back(builder.PteGpa(parent_cr3_, HeapGva(i)));
      child_ptes_.push_back(builder.PteGpa(child_cr3_, HeapGva(i)));
    }
    // Every frame so far, tables included, in the kernel's direct map.
    const uint64_t frames_used = builder.AllocatePage();
    for (uint64_t gfn = 0; gfn < frames_used; ++gfn) {
      builder.Map(kernel_cr3, DirectMapGva(gfn * kPageBytes), gfn, kKernelRw);
    }
    builder.SharePml4Entry(parent_cr3_, kernel_cr3, kDirectMapBase);
    builder.SharePml4Entry(child_cr3_, kernel_cr3, kDirectMapBase);
    machine_.Boot(parent_cr3_);
    for (int i = 0; i < kHeapPages; ++i) {
      machine_.Write(HeapGva(i), i, /*user=*/true);
    }
  }

  void Round() {
    Fork();
    machine_.LoadCr3(child_cr3_);
    for (int i = 0; i < kHeapPages; i += kChildReadsEvery) {
      machine_.Read(HeapGva(i), true);
    }
    for (int i = 0; i < kHeapPages; i += kChildWritesEvery) {
      BreakCow(child_ptes_[i], child_frames_[i], i);
    }
    for (int i = 0; i < kHeapPages; ++i) StorePte(child_ptes_[i], 0);
    machine_.LoadCr3(parent_cr3_);
    for (int i = 0; i < kHeapPages; ++i) {
      if (i % kParentWritesEvery == 1) {
        BreakCow(parent_ptes_[i], parent_frames_[i], i);
      } else {
        machine_.Read(HeapGva(i), true);
      }
    }
  }

  const impl::MmuCounters& counters() const { return machine_.counters(); }

 private:
  // The kernel stores a PTE through its direct map.
  void StorePte(uint64_t pte_gpa, uint64_t pte) {
    machine_.Write(DirectMapGva(pte_gpa), pte, /*user=*/false);
  }

  void Fork() {
    for (int i = 0; i < kHeapPages; ++i) {
      machine_.Read(DirectMapGva(parent_ptes_[i]), /*user=*/false);
      const uint64_t shared = UserPte(parent_frames_[i]) & ~kWritable;
      StorePte(child_ptes_[i], shared);
      StorePte(parent_ptes_[i], shared);
    }
    machine_.LoadCr3(parent_cr3_);
  }

  // A write to a copy-on-write page: the kernel gives it its own frame
  // (writable again), invalidates the old translation, and the write runs.
  void BreakCow(uint64_t pte_gpa, uint64_t frame, int page) {
    StorePte(pte_gpa, UserPte(frame) | kDirty);
    machine_.mmu().Invlpg(host::kBootVcpu, HeapGva(page));
    machine_.Write(HeapGva(page), page, /*user=*/true);
  }

  GuestMachine machine_;
  uint64_t parent_cr3_ = 0;
  uint64_t child_cr3_ = 0;
  std::vector<uint64_t> parent_frames_;
  std::vector<uint64_t> child_frames_;
  std::vector<uint64_t> parent_ptes_;
  std::vector<uint64_t> child_ptes_;
};

// One iteration is one whole run from boot; the counters are per run.
void BM_ForkLoop(benchmark::State& state, Options options) {
  uint64_t host_faults = 0;
  uint64_t emulated_writes = 0;
  uint64_t pages_synced = 0;
  uint64_t sptes_synced = 0;
  uint64_t shadow_pages_created = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto loop = std::make_unique<ForkLoop>(options);
    const impl::MmuCounters at_start = loop->counters();
    state.ResumeTiming();
    for (int i = 0; i < kRounds; ++i) loop->Round();
    state.PauseTiming();
    const impl::MmuCounters& now = loop->counters();
    host_faults += now.host_faults - at_start.host_faults;
    emulated_writes += now.emulated_writes - at_start.emulated_writes;
    pages_synced += now.pages_synced - at_start.pages_synced;
    sptes_synced += now.sptes_synced - at_start.sptes_synced;
    shadow_pages_created +=
        now.shadow_pages_created - at_start.shadow_pages_created;
    loop.reset();
    state.ResumeTiming();
  }
  auto per_run = [](uint64_t n) {
    return benchmark::Counter(n, benchmark::Counter::kAvgIterations);
  };
  state.counters["host_faults"] = per_run(host_faults);
  state.counters["emulated_writes"] = per_run(emulated_writes);
  state.counters["pages_synced"] = per_run(pages_synced);
  state.counters["sptes_synced"] = per_run(sptes_synced);
  state.counters["shadow_pages_created"] = per_run(shadow_pages_created);
}

BENCHMARK_CAPTURE(BM_ForkLoop, write_protect, Options{})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_ForkLoop, write_protect_deferred,
                  Options{.defer_flushes = true})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_ForkLoop, unsync,
                  Options{.defer_flushes = true, .unsync = true})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
}  // namespace shadowdiff::bench
