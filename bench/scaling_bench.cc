// What one emulated PTE write and one CR3 switch cost as the MMU grows: the
// same operations with 16 and with 16,384 shadowed guest page tables. The
// MMU finds shadow pages by hash and mappings through the reverse map, so
// the two sizes should cost about the same.
//
// The guest: one address space whose N guest PTs each map one page (PT i at
// 2 MB * i), every one touched so it is shadowed, and a second address space
// whose PML4 shares all of it. Both roots are cached before timing.

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "bench/guest_builder.h"
#include "bench/guest_machine.h"
#include "benchmark/benchmark.h"
#include "impl/counters.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff::bench {
namespace {

constexpr uint64_t kBase = 0x0000'0010'0000'0000;
constexpr uint64_t kPtSpan = uint64_t{1} << 21;
// The PTE writes go to the same number of entries at both sizes, one per
// table spread evenly over the tables, so the size of the MMU is the only
// difference between the two.
constexpr int kWrittenTables = 16;

class ScaledGuest {
 public:
  // The frame budget leaves room for every shadow page: none may be dropped
  // for lack of frames while the MMU is measured.
  explicit ScaledGuest(int tables)
      : machine_(impl::ShadowMmu::Options{}, 3 * tables + 64, 2 * tables + 64) {
    GuestBuilder& builder = machine_.builder();
    cr3_a_ = builder.NewAddressSpace();
    cr3_b_ = builder.NewAddressSpace();
    for (int i = 0; i < tables; ++i) {
      // Two frames per page, for the PTE writes to alternate between.
      frames_.push_back({builder.AllocatePage(), builder.AllocatePage()});
      builder.Map(cr3_a_, Gva(i), frames_[i][0], UserPte(frames_[i][0]));
    }
    builder.SharePml4Entry(cr3_b_, cr3_a_, kBase);
    // B's root is built by one access through it; A then shadows every table.
    machine_.Boot(cr3_b_);
    machine_.Read(Gva(0), /*user=*/true);
    machine_.LoadCr3(cr3_a_);
    for (int i = 0; i < tables; ++i) machine_.Read(Gva(i), /*user=*/true);
  }

  static uint64_t Gva(int table) { return kBase + table * kPtSpan; }

  GuestMachine& machine() { return machine_; }
  uint64_t cr3_a() const { return cr3_a_; }
  uint64_t cr3_b() const { return cr3_b_; }
  uint64_t frame(int table, int which) const { return frames_[table][which]; }
  uint64_t PteGpa(int table) {
    return machine_.builder().PteGpa(cr3_a_, Gva(table));
  }

 private:
  GuestMachine machine_;
  uint64_t cr3_a_ = 0;
  uint64_t cr3_b_ = 0;
  std::vector<std::array<uint64_t, 2>> frames_;
};

// Times EmulatedWrite alone: one 8-byte guest store to a shadowed PT that
// moves a present, accessed PTE to another frame (the MMU updates the spte in
// place and flushes that gva). Untimed after each write, the guest does what
// it must after changing a present PTE, INVLPG, and reads through the entry:
// that host fault is what tells the MMU the table is still in use, so write
// flooding never unshadows it (unshadows_flooding shows it stays 0).
void BM_EmulatedPteWrite(benchmark::State& state) {
  const int tables = static_cast<int>(state.range(0));
  ScaledGuest guest(tables);
  GuestMachine& machine = guest.machine();
  const impl::MmuCounters before = machine.counters();
  uint64_t writes = 0;
  for (auto _ : state) {
    const int table =
        static_cast<int>(writes % kWrittenTables) * (tables / kWrittenTables);
    const int which = static_cast<int>(writes / kWrittenTables + 1) % 2;
    const uint64_t gpa = guest.PteGpa(table);
    const uint64_t pte = UserPte(guest.frame(table, which));
    const auto start = std::chrono::steady_clock::now();
    machine.WriteEntry(gpa, pte);
    const auto end = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    machine.mmu().Invlpg(host::kBootVcpu, ScaledGuest::Gva(table));
    machine.Read(ScaledGuest::Gva(table), /*user=*/true);
    ++writes;
  }
  const impl::MmuCounters& after = machine.counters();
  state.counters["shadow_pages"] = machine.mmu().pages().size();
  state.counters["updated_in_place"] = benchmark::Counter(
      after.sptes_updated_in_place - before.sptes_updated_in_place,
      benchmark::Counter::kAvgIterations);
  state.counters["unshadows_flooding"] =
      after.unshadows_flooding - before.unshadows_flooding;
}

// One MOV to CR3 per iteration, alternating between the two cached address
// spaces: the root lookup and the full host TLB flush a switch needs.
void BM_Cr3Switch(benchmark::State& state) {
  ScaledGuest guest(static_cast<int>(state.range(0)));
  GuestMachine& machine = guest.machine();
  const uint64_t hits_before = machine.counters().root_cache_hits;
  bool to_b = true;
  for (auto _ : state) {
    machine.LoadCr3(to_b ? guest.cr3_b() : guest.cr3_a());
    to_b = !to_b;
  }
  state.counters["shadow_pages"] = machine.mmu().pages().size();
  state.counters["root_cache_hits"] =
      benchmark::Counter(machine.counters().root_cache_hits - hits_before,
                         benchmark::Counter::kAvgIterations);
}

BENCHMARK(BM_EmulatedPteWrite)
    ->ArgName("tables")
    ->Arg(16)
    ->Arg(16384)
    ->Iterations(100000)
    ->UseManualTime();
BENCHMARK(BM_Cr3Switch)
    ->ArgName("tables")
    ->Arg(16)
    ->Arg(16384)
    ->Iterations(1000000);

}  // namespace
}  // namespace shadowdiff::bench
