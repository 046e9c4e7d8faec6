#include "host/host_cpu.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_services.h"
#include "host/host_walker.h"
#include "host/spte.h"

namespace shadowdiff::host {
namespace {

// What TakeWrittenGfns hands out, sorted.
std::vector<uint64_t> Written(HostCpu& memory) {
  std::vector<uint64_t> pages;
  memory.TakeWrittenGfns(&pages);
  std::sort(pages.begin(), pages.end());
  return pages;
}

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

constexpr uint64_t kP = spte::kPresent;
constexpr uint64_t kW = spte::kWritable;
constexpr uint64_t kU = spte::kUser;
constexpr uint64_t kA = spte::kAccessed;
constexpr uint64_t kD = spte::kDirty;

// Guest RAM: gfns 0x10..0x13 in host frames 0x1000000..0x1000003 (gpa 0x11000
// is hpa 0x1000001000), and gfn 0x100 in host frame 0x2000000.
const std::vector<MemorySlot> kSlots = {{0x10, 4, 0x1000000},
                                        {0x100, 1, 0x2000000}};

struct Fault {
  uint64_t gva;
  AccessKind kind;
  bool user;
  uint32_t error_code;

  bool operator==(const Fault&) const = default;
};

// An MMU whose fault handling is whatever the test scripts; it records what
// the host CPU asked of it.
struct ScriptedMmu final : public GuestMmu {
  std::string_view Name() const override { return "scripted"; }
  absl::Status Start(HostServices& services, const GuestControls&) override {
    host = &services;
    return absl::OkStatus();
  }
  HostRoot CurrentRoot(VcpuId vcpu) override { return root; }
  FaultResolution HandleHostFault(VcpuId vcpu, uint64_t gva, AccessKind kind,
                                  bool user, uint32_t error_code) override {
    faults.push_back({gva, kind, user, error_code});
    return on_fault ? on_fault(gva) : FaultResolution::Retry();
  }
  void EmulatedWrite(VcpuId vcpu, uint64_t gpa,
                     std::span<const uint8_t> bytes) override {
    emulated_writes.emplace_back(
        gpa, std::vector<uint8_t>(bytes.begin(), bytes.end()));
    host->WriteGuest(gpa, bytes);
  }
  bool LoadCr3(VcpuId vcpu, uint64_t) override { return true; }
  bool SetControls(VcpuId vcpu, const GuestControls&) override { return true; }
  void Invlpg(VcpuId vcpu, uint64_t) override {}
  bool Invpcid(VcpuId vcpu, InvpcidType, uint32_t, uint64_t) override {
    return true;
  }
  GuestPagingState CurrentState(VcpuId vcpu) const override { return {}; }
  KeptRootList KeptRoots() const override { return {}; }
  std::vector<Counter> Counters() const override { return {}; }

  HostServices* host = nullptr;
  HostRoot root;
  std::function<FaultResolution(uint64_t gva)> on_fault;
  std::vector<Fault> faults;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> emulated_writes;
};

class HostCpuTest : public ::testing::Test {
 protected:
  HostCpuTest() {
    EXPECT_TRUE(mmu_.Start(cpu_, {}).ok());
    // The first table frame, 0x100000000.
    mmu_.root = {HostRoot::Kind::k4Level, NewTable()};
  }

  uint64_t NewTable() { return *cpu_.AllocateFrame() * 4096; }

  std::vector<HostMapping> Mappings(const HostRoot& root) {
    std::vector<HostMapping> mappings;
    cpu_.Mappings(root, &mappings);
    return mappings;
  }
  std::vector<HostMapping> TlbMappings() const {
    std::vector<HostMapping> mappings;
    cpu_.TlbMappings(&mappings);
    return mappings;
  }

  // Points the 4-level path of gva at the 4 KB leaf entry, as an MMU would,
  // creating tables on the way; returns the leaf entry's hpa.
  uint64_t Map(uint64_t gva, uint64_t leaf) {
    uint64_t table = mmu_.root.hpa;
    for (int shift = 39; shift > 12; shift -= 9) {
      const uint64_t entry_hpa = table + 8 * ((gva >> shift) % 512);
      uint64_t entry = cpu_.ReadSpte(entry_hpa);
      if ((entry & kP) == 0) {
        entry = NewTable() | kP | kW | kU;
        cpu_.WriteSpte(entry_hpa, entry);
      }
      table = spte::FrameAddress(entry);
    }
    const uint64_t leaf_hpa = table + 8 * ((gva >> 12) % 512);
    cpu_.WriteSpte(leaf_hpa, leaf);
    return leaf_hpa;
  }

  void InitGuest(uint64_t gpa, std::vector<uint8_t> bytes) {
    cpu_.InitGuest(gpa, bytes);
  }

  std::vector<uint8_t> ReadGuest(uint64_t gpa, size_t size) {
    std::vector<uint8_t> bytes(size);
    EXPECT_TRUE(cpu_.ReadGuest(gpa, bytes));
    return bytes;
  }

  ScriptedMmu mmu_;
  HostCpu cpu_{kSlots, mmu_};
};

TEST_F(HostCpuTest, RetryAfterTheMmuMapsThePage) {
  uint64_t leaf_hpa = 0;
  mmu_.on_fault = [&](uint64_t gva) {
    leaf_hpa = Map(gva, 0x1000001000 | kP | kW | kU);
    return FaultResolution::Retry();
  };
  Written(cpu_);
  const HostAccessResult result =
      cpu_.Access(0x7010, AccessKind::kWrite, 4, 0xDDCCBBAA, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(result.hpa, 0x1000001010u);
  EXPECT_EQ(result.host_faults, 1);
  EXPECT_FALSE(result.emulated);
  // Not present, user write.
  EXPECT_THAT(mmu_.faults,
              ElementsAre(Fault{0x7010, AccessKind::kWrite, true, 0x6}));
  // Frames 0x100000001..3 became PDPT, PD and PT; PT index 7.
  EXPECT_EQ(leaf_hpa, 0x100000003038u);
  EXPECT_EQ(cpu_.ReadSpte(leaf_hpa), 0x1000001000 | kP | kW | kU | kA | kD);
  EXPECT_THAT(ReadGuest(0x11010, 4), ElementsAre(0xAA, 0xBB, 0xCC, 0xDD));
  // Table frames are not guest RAM.
  EXPECT_THAT(Written(cpu_), UnorderedElementsAre(0x11));
}

TEST_F(HostCpuTest, LoadsAreLittleEndian) {
  InitGuest(0x12008, {1, 2, 3, 4, 5, 6, 7, 8});
  Map(0x4000, 0x1000002000 | kP | kU);
  HostAccessResult result = cpu_.Access(0x4008, AccessKind::kRead, 8, 0, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(result.value, 0x0807060504030201u);
  EXPECT_EQ(result.host_faults, 0);
  result = cpu_.Access(0x400A, AccessKind::kRead, 2, 0, true);
  EXPECT_EQ(result.value, 0x0403u);
  EXPECT_EQ(result.hpa, 0x100000200Au);
}

TEST_F(HostCpuTest, FetchChecksTheTranslationOnly) {
  InitGuest(0x12000, {0x90});
  Map(0x4000, 0x1000002000 | kP);
  Written(cpu_);
  const HostAccessResult result =
      cpu_.Access(0x4000, AccessKind::kFetch, 1, 0xFF, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(result.hpa, 0x1000002000u);
  EXPECT_EQ(result.value, 0u);
  EXPECT_THAT(Written(cpu_), IsEmpty());
}

TEST_F(HostCpuTest, NxLeafFaultsOnFetch) {
  Map(0x4000, 0x1000002000 | spte::kNx | kP | kU);
  mmu_.on_fault = [](uint64_t) { return FaultResolution::Inject(0x15); };
  const HostAccessResult result =
      cpu_.Access(0x4000, AccessKind::kFetch, 1, 0, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kPageFault);
  EXPECT_THAT(mmu_.faults,
              ElementsAre(Fault{0x4000, AccessKind::kFetch, true, 0x15}));
}

TEST_F(HostCpuTest, InjectedFaultReachesTheGuest) {
  mmu_.on_fault = [](uint64_t) { return FaultResolution::Inject(0x7); };
  const HostAccessResult result =
      cpu_.Access(0x7000, AccessKind::kRead, 1, 0, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kPageFault);
  EXPECT_EQ(result.error_code, 0x7u);
  EXPECT_EQ(result.cr2, 0x7000u);
  EXPECT_EQ(result.host_faults, 1);
  // Not present, supervisor read: no error code bit at all.
  EXPECT_THAT(mmu_.faults,
              ElementsAre(Fault{0x7000, AccessKind::kRead, false, 0}));
}

TEST_F(HostCpuTest, EmulatedStoreGoesThroughTheMmu) {
  mmu_.on_fault = [](uint64_t) { return FaultResolution::Emulate(0x13010); };
  const HostAccessResult result =
      cpu_.Access(0x9010, AccessKind::kWrite, 2, 0xBEEF, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_TRUE(result.emulated);
  EXPECT_EQ(result.gpa, 0x13010u);
  EXPECT_EQ(result.hpa, 0x1000003010u);
  EXPECT_THAT(mmu_.emulated_writes,
              ElementsAre(Pair(0x13010, ElementsAre(0xEF, 0xBE))));
  EXPECT_THAT(ReadGuest(0x13010, 2), ElementsAre(0xEF, 0xBE));
}

TEST_F(HostCpuTest, EmulatedLoadReadsGuestMemory) {
  InitGuest(0x13020, {0x11, 0x22, 0x33, 0x44});
  mmu_.on_fault = [](uint64_t) { return FaultResolution::Emulate(0x13020); };
  const HostAccessResult result =
      cpu_.Access(0x9020, AccessKind::kRead, 4, 0, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_TRUE(result.emulated);
  EXPECT_EQ(result.value, 0x44332211u);
  EXPECT_EQ(result.hpa, 0x1000003020u);
  EXPECT_THAT(mmu_.emulated_writes, IsEmpty());
}

TEST_F(HostCpuTest, EmulationOutsideRamIsMmio) {
  mmu_.on_fault = [](uint64_t) { return FaultResolution::Emulate(0x50000); };
  Written(cpu_);
  HostAccessResult result =
      cpu_.Access(0x9000, AccessKind::kWrite, 8, ~uint64_t{0}, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kMmio);
  EXPECT_TRUE(result.emulated);
  EXPECT_EQ(result.gpa, 0x50000u);
  result = cpu_.Access(0x9000, AccessKind::kRead, 8, 0, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kMmio);
  EXPECT_EQ(result.value, 0u);
  EXPECT_THAT(mmu_.emulated_writes, IsEmpty());
  EXPECT_THAT(Written(cpu_), IsEmpty());
}

TEST_F(HostCpuTest, EmulationRunningOffTheEndOfRamIsMmio) {
  // gfn 0x13 is RAM, gfn 0x14 is not.
  mmu_.on_fault = [](uint64_t) { return FaultResolution::Emulate(0x13FFE); };
  const HostAccessResult result =
      cpu_.Access(0x9000, AccessKind::kWrite, 4, 0, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kMmio);
  EXPECT_THAT(mmu_.emulated_writes, IsEmpty());
}

TEST_F(HostCpuTest, ReservedBitsInTheLeafGiveAnRsvdFault) {
  // Bit 51 marks MMIO sptes in KVM.
  Map(0x7000, (1ull << 51) | kP | kW | kU);
  mmu_.on_fault = [](uint64_t) { return FaultResolution::Emulate(0x50008); };
  const HostAccessResult result =
      cpu_.Access(0x7008, AccessKind::kRead, 8, 0, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kMmio);
  EXPECT_EQ(result.gpa, 0x50008u);
  // P | U | RSVD.
  EXPECT_THAT(mmu_.faults,
              ElementsAre(Fault{0x7008, AccessKind::kRead, true, 0xD}));
}

TEST_F(HostCpuTest, EndlessRetriesAreALivelock) {
  const HostAccessResult result =
      cpu_.Access(0x7000, AccessKind::kRead, 1, 0, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kLivelock);
  EXPECT_EQ(mmu_.faults.size(), 16u);
  EXPECT_EQ(result.host_faults, 17);
}

TEST_F(HostCpuTest, SixteenFaultsAreStillNoLivelock) {
  mmu_.on_fault = [&](uint64_t gva) {
    if (mmu_.faults.size() == 16) Map(gva, 0x1000001000 | kP);
    return FaultResolution::Retry();
  };
  const HostAccessResult result =
      cpu_.Access(0x7000, AccessKind::kRead, 1, 0, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(result.host_faults, 16);
}

TEST_F(HostCpuTest, ForgottenFlushLeavesAStaleTranslationInUse) {
  InitGuest(0x11000, {0xAA});
  InitGuest(0x12000, {0xBB});
  const uint64_t leaf_hpa = Map(0x7000, 0x1000001000 | kP | kW | kU);
  EXPECT_EQ(cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true).value, 0xAAu);

  // The MMU retargets the spte but forgets the flush.
  cpu_.WriteSpte(leaf_hpa, 0x1000002000 | kP | kW | kU);
  HostAccessResult result = cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true);
  EXPECT_EQ(result.value, 0xAAu);
  EXPECT_EQ(result.hpa, 0x1000001000u);

  cpu_.FlushTlb(VcpuSet::Of(kBootVcpu), 0x7000);
  EXPECT_EQ(cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true).value, 0xBBu);

  // A zapped spte keeps working until the flush too.
  cpu_.WriteSpte(leaf_hpa, 0);
  result = cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(result.value, 0xBBu);
  cpu_.FlushTlbAll(VcpuSet::All());
  mmu_.on_fault = [](uint64_t) { return FaultResolution::Inject(0); };
  result = cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kPageFault);
  EXPECT_THAT(mmu_.faults,
              ElementsAre(Fault{0x7000, AccessKind::kRead, true, kPfUser}));
  EXPECT_EQ(cpu_.tlb_flushes_single(), 1u);
  EXPECT_EQ(cpu_.tlb_flushes_all(), 1u);
}

// An untagged host TLB (VMX without VPID) is flushed whole at every VM entry:
// the same forgotten flush is then harmless once the MMU has returned to the
// guest, and a tagged one keeps the stale entry.
TEST_F(HostCpuTest, UntaggedHostTlbIsFlushedOnEveryEntryToTheGuest) {
  InitGuest(0x11000, {0xAA});
  InitGuest(0x12000, {0xBB});
  for (const HostTlbTagging tlb :
       {HostTlbTagging::kTagged, HostTlbTagging::kUntagged}) {
    cpu_.Reset(kSlots, mmu_, tlb);
    InitGuest(0x11000, {0xAA});
    InitGuest(0x12000, {0xBB});
    mmu_.root = {HostRoot::Kind::k4Level, NewTable()};
    const uint64_t leaf_hpa = Map(0x7000, 0x1000001000 | kP | kW | kU);
    EXPECT_EQ(cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true).value, 0xAAu);
    cpu_.WriteSpte(leaf_hpa, 0x1000002000 | kP | kW | kU);
    cpu_.EnterGuest();
    const uint64_t expected = tlb == HostTlbTagging::kTagged ? 0xAA : 0xBB;
    EXPECT_EQ(cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true).value,
              expected);
    // The MMU's own flushes are what it asked for, not the entries' flushes.
    EXPECT_EQ(cpu_.tlb_flushes_all(), 0u);
  }
}

// A fault the MMU resolves is an exit and an entry: on an untagged host the
// TLB entries of other pages are gone after it.
TEST_F(HostCpuTest, UntaggedHostTlbIsFlushedAfterEachHostFault) {
  for (const HostTlbTagging tlb :
       {HostTlbTagging::kTagged, HostTlbTagging::kUntagged}) {
    cpu_.Reset(kSlots, mmu_, tlb);
    mmu_.root = {HostRoot::Kind::k4Level, NewTable()};
    Map(0x7000, 0x1000001000 | kP | kW | kU);
    cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true);
    mmu_.on_fault = [this](uint64_t gva) {
      Map(gva, 0x1000002000 | kP | kW | kU);
      return FaultResolution::Retry();
    };
    cpu_.Access(0x9000, AccessKind::kRead, 1, 0, true);
    const std::vector<HostMapping> tlb_entries = TlbMappings();
    ASSERT_FALSE(tlb_entries.empty());
    EXPECT_EQ(tlb_entries.front().gva,
              tlb == HostTlbTagging::kTagged ? 0x7000u : 0x9000u);
    mmu_.on_fault = nullptr;
  }
}

// An MMU's internal error stops the access at once and the host calls the
// MMU no more, until the next case.
TEST_F(HostCpuTest, ReportedMmuErrorEndsTheAccessAndTheCalls) {
  mmu_.on_fault = [this](uint64_t) {
    mmu_.host->ReportMmuError("BUG_ON(spte == 0)");
    mmu_.host->ReportMmuError("a second report is not kept");
    return FaultResolution::Retry();
  };
  HostAccessResult result = cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kMmuError);
  EXPECT_EQ(cpu_.mmu_error(), "BUG_ON(spte == 0)");
  EXPECT_EQ(mmu_.faults.size(), 1u);
  result = cpu_.Access(0x8000, AccessKind::kRead, 1, 0, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kMmuError);
  EXPECT_EQ(mmu_.faults.size(), 1u);
  cpu_.Reset(kSlots, mmu_);
  EXPECT_EQ(cpu_.mmu_error(), "");
}

// Table frames are real memory at the documented place: what an MMU writes
// through the pointer is what the walker reads, with no copy.
TEST_F(HostCpuTest, TableFramesAreMemoryTheWalkerReadsInPlace) {
  const TableWindow window = cpu_.TableFrames();
  const uint64_t table = NewTable();
  ASSERT_GE(table, window.base_hpa);
  uint8_t* const pointer = window.base + (table - window.base_hpa);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pointer) % 4096, 0u);
  const uint64_t entry = 0x1000001000 | kP | kW;
  std::memcpy(pointer + 8 * 3, &entry, sizeof entry);
  EXPECT_EQ(cpu_.ReadSpte(table + 8 * 3), entry);
}

// A flush names the vCPUs whose TLBs it drops: one that leaves out the only
// vCPU a case has flushes nothing.
TEST_F(HostCpuTest, FlushesNameTheirVcpus) {
  Map(0x7000, 0x1000001000 | kP | kW | kU);
  cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true);
  cpu_.FlushTlb(VcpuSet::Of(1), 0x7000);
  cpu_.FlushTlbAll(VcpuSet{});
  EXPECT_THAT(TlbMappings(), SizeIs(1));
  cpu_.FlushTlb(VcpuSet::Of(kBootVcpu), 0x7000);
  EXPECT_THAT(TlbMappings(), IsEmpty());
  EXPECT_EQ(cpu_.tlb_flushes_single(), 1u);
  EXPECT_EQ(cpu_.tlb_flushes_all(), 0u);
}

TEST_F(HostCpuTest, StaleDirtyEntryStillTakesWrites) {
  const uint64_t leaf_hpa = Map(0x7000, 0x1000001000 | kP | kW | kU | kD);
  cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true);
  cpu_.WriteSpte(leaf_hpa, 0x1000001000 | kP | kU | kA | kD);  // no flush
  const HostAccessResult result =
      cpu_.Access(0x7000, AccessKind::kWrite, 1, 0x5A, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_THAT(mmu_.faults, IsEmpty());
}

TEST_F(HostCpuTest, WriteThroughCleanEntryWalksAgain) {
  const uint64_t leaf_hpa = Map(0x7000, 0x1000001000 | kP | kW | kU);
  cpu_.Access(0x7000, AccessKind::kRead, 1, 0, true);
  // Same stale change as above, but the cached entry is clean, so the write
  // re-walks and sees the read-only spte.
  cpu_.WriteSpte(leaf_hpa, 0x1000001000 | kP | kU | kA);
  mmu_.on_fault = [](uint64_t) { return FaultResolution::Inject(0x7); };
  const HostAccessResult result =
      cpu_.Access(0x7000, AccessKind::kWrite, 1, 0x5A, true);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kPageFault);
  EXPECT_THAT(mmu_.faults,
              ElementsAre(Fault{0x7000, AccessKind::kWrite, true, 0x7}));
}

TEST_F(HostCpuTest, FaultOnATlbHitFlushesTheEntry) {
  const uint64_t leaf_hpa = Map(0x7000, 0x1000001000 | kP | kU | kD);
  cpu_.Access(0x7000, AccessKind::kRead, 1, 0, false);
  // Rights granted without a flush: the cached read-only entry faults once,
  // the fault drops it, and the retry walks the new spte.
  cpu_.WriteSpte(leaf_hpa, 0x1000001000 | kP | kW | kU | kA | kD);
  const HostAccessResult result =
      cpu_.Access(0x7000, AccessKind::kWrite, 1, 0x5A, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(result.host_faults, 1);
  EXPECT_THAT(mmu_.faults,
              ElementsAre(Fault{0x7000, AccessKind::kWrite, false, 0x3}));
}

TEST_F(HostCpuTest, AsksForTheRootOnEveryAttempt) {
  // The fault handler switches to a PAE root that maps gva 0x7000.
  const uint64_t pae_root = NewTable();
  const uint64_t pd = NewTable();
  const uint64_t pt = NewTable();
  cpu_.WriteSpte(pae_root, pd | kP);
  cpu_.WriteSpte(pd, pt | kP | kW | kU);
  cpu_.WriteSpte(pt + 7 * 8, 0x1000001000 | kP | kW | kU);
  mmu_.on_fault = [&](uint64_t) {
    mmu_.root = {HostRoot::Kind::kPae, pae_root};
    return FaultResolution::Retry();
  };
  const HostAccessResult result =
      cpu_.Access(0x7000, AccessKind::kRead, 1, 0, false);
  EXPECT_EQ(result.kind, HostAccessResult::Kind::kOk);
  EXPECT_EQ(result.hpa, 0x1000001000u);
}

TEST_F(HostCpuTest, WalkerWritesToGuestRamAreReported) {
  // A broken MMU whose PD points at guest frame 0x12 (hpa 0x1000002000) as if
  // it were a table. The PD is frame 0x100000002, its entry 0.
  Map(0x7000, 0);
  cpu_.WriteSpte(0x100000002000, 0x1000002000 | kP | kW | kU);
  cpu_.WriteSpte(0x1000002000 + 7 * 8, 0x1000001000 | kP | kW | kU);
  EXPECT_THAT(Written(cpu_), UnorderedElementsAre(0x12));
  ASSERT_EQ(cpu_.Access(0x7000, AccessKind::kRead, 1, 0, false).kind,
            HostAccessResult::Kind::kOk);
  // The walker set A in the "PTE" inside guest RAM.
  EXPECT_THAT(Written(cpu_), UnorderedElementsAre(0x12));
  EXPECT_THAT(ReadGuest(0x12038, 1), ElementsAre(0x27));
  cpu_.Access(0x7000, AccessKind::kRead, 1, 0, false);  // a TLB hit
  EXPECT_THAT(Written(cpu_), IsEmpty());
}

TEST_F(HostCpuTest, MappingsAndTlbMappings) {
  Map(0x7000, 0x1000001000 | kP | kW | kU);
  const HostMapping mapping = {0x7000, 0x1000, 0x1000001000, true, true, false};
  EXPECT_THAT(Mappings(mmu_.root), ElementsAre(mapping));
  EXPECT_THAT(TlbMappings(), IsEmpty());
  cpu_.Access(0x7123, AccessKind::kRead, 1, 0, true);
  EXPECT_THAT(TlbMappings(), ElementsAre(mapping));
}

// Mappings remembers a root's leaves; every kind of change to one of its
// tables must show in the next call: a leaf written, a table unlinked, a
// table frame freed and handed out again (zeroed), a Reset.
TEST_F(HostCpuTest, MappingsSeeEveryChangeToTheRootsTables) {
  const uint64_t leaf_hpa = Map(0x7000, 0x1000001000 | kP | kW | kU);
  const HostMapping first = {0x7000, 0x1000, 0x1000001000, true, true, false};
  ASSERT_THAT(Mappings(mmu_.root), ElementsAre(first));
  // Another root, read in between, is remembered apart.
  const HostRoot other = {HostRoot::Kind::k4Level, NewTable()};
  EXPECT_THAT(Mappings(other), IsEmpty());

  cpu_.WriteSpte(leaf_hpa, 0x1000002000 | kP | kU);
  const HostMapping second = {0x7000, 0x1000, 0x1000002000, false, true, false};
  EXPECT_THAT(Mappings(mmu_.root), ElementsAre(second));

  // The PT of gva 0x7000 freed and handed out again: it reads as zero.
  const uint64_t pt_hfn = leaf_hpa / 4096;
  cpu_.FreeFrame(pt_hfn);
  ASSERT_EQ(*cpu_.AllocateFrame(), pt_hfn);
  EXPECT_THAT(Mappings(mmu_.root), IsEmpty());

  Map(0x9000, 0x1000003000 | kP | kW | kU);
  ASSERT_THAT(Mappings(mmu_.root), SizeIs(1));
  cpu_.WriteSpte(mmu_.root.hpa, 0);  // PML4 entry 0: everything below 512 GB
  EXPECT_THAT(Mappings(mmu_.root), IsEmpty());

  Map(0x9000, 0x1000003000 | kP | kW | kU);
  ASSERT_THAT(Mappings(mmu_.root), SizeIs(1));
  cpu_.Reset({}, mmu_);
  EXPECT_THAT(Mappings(mmu_.root), IsEmpty());
}

TEST_F(HostCpuTest, TraceIsPure) {
  const uint64_t leaf_hpa = Map(0x7000, 0x1000001000 | kP | kW | kU);
  const HostWalkTrace trace = cpu_.Trace(mmu_.root, 0x7010);
  ASSERT_TRUE(trace.ok);
  EXPECT_EQ(trace.hpa, 0x1000001010u);
  EXPECT_EQ(trace.levels.size(), 4u);
  EXPECT_EQ(cpu_.ReadSpte(leaf_hpa), 0x1000001000 | kP | kW | kU);
  EXPECT_THAT(TlbMappings(), IsEmpty());
}

TEST_F(HostCpuTest, GuestRamThroughTheSlots) {
  EXPECT_EQ(cpu_.GfnToHfn(0x10), 0x1000000u);
  EXPECT_EQ(cpu_.GfnToHfn(0x13), 0x1000003u);
  EXPECT_EQ(cpu_.GfnToHfn(0x14), std::nullopt);
  EXPECT_EQ(cpu_.GfnToHfn(0xF), std::nullopt);
  EXPECT_EQ(cpu_.GfnToHfn(0x100), 0x2000000u);
  Written(cpu_);

  // The bytes in gfn 0x13 land, those in gfn 0x14 (MMIO) are dropped.
  const std::vector<uint8_t> bytes = {1, 2, 3, 4};
  EXPECT_FALSE(cpu_.WriteGuest(0x13FFE, bytes));
  std::vector<uint8_t> out(4, 0xFF);
  EXPECT_FALSE(cpu_.ReadGuest(0x13FFE, out));
  EXPECT_THAT(out, ElementsAre(1, 2, 0, 0));
  EXPECT_THAT(Written(cpu_), UnorderedElementsAre(0x13));

  EXPECT_TRUE(cpu_.WriteGuest(0x100FFF, std::vector<uint8_t>{9}));
  EXPECT_THAT(ReadGuest(0x100FFF, 1), ElementsAre(9));
  EXPECT_THAT(Written(cpu_), UnorderedElementsAre(0x100));
}

TEST_F(HostCpuTest, TableFrameBudget) {
  // The fixture holds the root already.
  for (uint64_t i = 1; i < HostCpu::kMaxTableFrames; ++i) {
    ASSERT_TRUE(cpu_.AllocateFrame().ok());
  }
  EXPECT_EQ(cpu_.AllocateFrame().status().code(),
            absl::StatusCode::kResourceExhausted);
  cpu_.FreeFrame(0x100000005);
  EXPECT_EQ(*cpu_.AllocateFrame(), 0x100000005u);
}

}  // namespace
}  // namespace shadowdiff::host
