#include "bench/guest_machine.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "bench/guest_builder.h"
#include "host/guest_state.h"
#include "host/host_cpu.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff::bench {
namespace {

// Guest RAM sits where the case format puts it, clear of the table frames.
constexpr uint64_t kRamHostFrame = uint64_t{1} << 24;

[[noreturn]] void Die(const char* what, uint64_t value) {
  std::fprintf(stderr, "guest machine: %s 0x%llx\n", what,
               static_cast<unsigned long long>(value));
  std::abort();
}

}  // namespace

GuestMachine::GuestMachine(impl::ShadowMmu::Options options, uint64_t ram_pages,
                           uint64_t max_table_frames)
    : mmu_(options),
      cpu_({{.base_gfn = 0, .pages = ram_pages, .host_frame = kRamHostFrame}},
           mmu_, max_table_frames),
      builder_(cpu_, ram_pages) {}

void GuestMachine::Boot(uint64_t cr3) {
  const host::GuestControls controls = {
      .mode = host::GuestMode::k4Level, .cr0_wp = true, .efer_nxe = true};
  if (const absl::Status status = mmu_.Start(cpu_, controls); !status.ok()) {
    std::fprintf(stderr, "guest machine: %s\n", status.ToString().c_str());
    std::abort();
  }
  LoadCr3(cr3);
}

void GuestMachine::LoadCr3(uint64_t cr3) {
  if (!mmu_.LoadCr3(host::kBootVcpu, cr3)) Die("CR3 load refused:", cr3);
}

int GuestMachine::Read(uint64_t gva, bool user) {
  return Access(gva, host::AccessKind::kRead, 0, user);
}

int GuestMachine::Write(uint64_t gva, uint64_t value, bool user) {
  return Access(gva, host::AccessKind::kWrite, value, user);
}

void GuestMachine::WriteEntry(uint64_t gpa, uint64_t entry) {
  mmu_.EmulatedWrite(host::kBootVcpu, gpa, EntryBytes(entry));
}

int GuestMachine::Access(uint64_t gva, host::AccessKind kind, uint64_t value,
                         bool user) {
  const host::HostAccessResult result = cpu_.Access(gva, kind, 8, value, user);
  if (result.kind != host::HostAccessResult::Kind::kOk) {
    Die("guest access did not complete at gva", gva);
  }
  return result.host_faults;
}

}  // namespace shadowdiff::bench
