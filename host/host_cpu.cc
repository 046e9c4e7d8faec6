#include "host/host_cpu.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_memory.h"
#include "host/host_tlb.h"
#include "host/host_walker.h"

namespace shadowdiff::host {
namespace {

constexpr uint64_t kPageBytes = HostMemory::kPageBytes;
// A case switches between a few roots; more are not kept between cases.
constexpr size_t kMaxRememberedRoots = 64;

// Calls fn(address, offset, length) for each piece of [gpa, gpa + size) that
// lies in one page: guest pages are contiguous in gpa but not in hpa.
template <typename Fn>
void ForEachPagePiece(uint64_t gpa, size_t size, Fn fn) {
  size_t offset = 0;
  while (offset < size) {
    const uint64_t address = gpa + offset;
    const size_t length =
        std::min<uint64_t>(size - offset, kPageBytes - address % kPageBytes);
    fn(address, offset, length);
    offset += length;
  }
}

uint64_t LittleEndian(std::span<const uint8_t> bytes) {
  uint64_t value = 0;
  for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
    value = (value << 8) | *it;
  }
  return value;
}

}  // namespace

HostCpu::HostCpu(std::vector<MemorySlot> slots, GuestMmu& mmu,
                 uint64_t max_table_frames)
    : slots_(std::move(slots)),
      mmu_(&mmu),
      memory_(max_table_frames),
      tables_written_in_place_(mmu.WritesTablesInPlace()) {
  written_frames_.reserve(32);
}

HostCpu::HostCpu() : mmu_(nullptr), memory_(kMaxTableFrames) {
  written_frames_.reserve(32);
}

void HostCpu::Reset(std::span<const MemorySlot> slots, GuestMmu& mmu,
                    HostTlbTagging tlb) {
  slots_.assign(slots.begin(), slots.end());
  mmu_ = &mmu;
  tlb_tagging_ = tlb;
  tables_written_in_place_ = mmu.WritesTablesInPlace();
  mmu_error_.clear();
  memory_.Reset();
  tlb_.FlushAll();
  written_frames_.clear();
  // Forgotten, not dropped, so their buffers serve the next guest, unless
  // many roots have piled up.
  if (remembered_.size() > kMaxRememberedRoots) remembered_.clear();
  for (auto& [root, remembered] : remembered_) remembered.epoch = 0;
  tlb_flushes_single_ = 0;
  tlb_flushes_all_ = 0;
}

HostAccessResult HostCpu::Access(uint64_t gva, AccessKind kind, int width,
                                 uint64_t value, bool user) {
  std::array<uint8_t, 8> buffer;
  const std::span<uint8_t> bytes(buffer.data(), width);
  for (uint8_t& byte : bytes) {
    byte = static_cast<uint8_t>(value);
    value >>= 8;
  }
  HostAccessResult result;
  if (!mmu_error_.empty()) {
    result.kind = HostAccessResult::Kind::kMmuError;
    return result;
  }
  for (;;) {
    const Translation translation =
        Translate(mmu_->CurrentRoot(kBootVcpu), gva, kind, user);
    if (translation.ok) {
      const HostTlbEntry& entry = translation.entry;
      result.hpa = entry.hpa | (gva & (entry.page_size - 1));
      if (kind == AccessKind::kRead) {
        memory_.Read(result.hpa, bytes);
        result.value = LittleEndian(bytes);
      } else if (kind == AccessKind::kWrite) {
        memory_.Write(result.hpa, bytes);
      }
      return result;
    }
    // SDM 4.10.4.1: a page fault invalidates the TLB entries for gva, so the
    // retry after the MMU's fix walks again.
    tlb_.Flush(gva);
    if (++result.host_faults > kMaxFaultsPerAccess) {
      result.kind = HostAccessResult::Kind::kLivelock;
      return result;
    }
    const FaultResolution resolution = mmu_->HandleHostFault(
        kBootVcpu, gva, kind, user, translation.error_code);
    if (resolution.kind == FaultResolution::Kind::kEmulate) {
      Emulate(resolution.gpa, kind, bytes, &result);
    }
    EnterGuest();
    if (!mmu_error_.empty()) {
      result.kind = HostAccessResult::Kind::kMmuError;
      return result;
    }
    switch (resolution.kind) {
      case FaultResolution::Kind::kRetry:
        break;
      case FaultResolution::Kind::kInjectGuestFault:
        result.kind = HostAccessResult::Kind::kPageFault;
        result.error_code = resolution.guest_error_code;
        result.cr2 = gva;
        return result;
      case FaultResolution::Kind::kEmulate:
        return result;
    }
  }
}

HostCpu::Translation HostCpu::Translate(const HostRoot& root, uint64_t gva,
                                        AccessKind kind, bool user) {
  if (const std::optional<HostTlbEntry> hit = tlb_.Lookup(gva, kind)) {
    if (HostRightsAllow(hit->writable, hit->user, hit->nx, kind, user)) {
      return {true, *hit, 0};
    }
    return {false, {}, kPfPresent | AccessErrorBits(kind, user)};
  }
  const HostWalkTrace walk = WalkHostForAccess(memory_, root, gva, kind, user);
  if (!walk.ok) return {false, {}, walk.error_code};
  const uint64_t offset_mask = walk.page_size - 1;
  const HostTlbEntry entry = {.gva = gva & ~offset_mask,
                              .page_size = walk.page_size,
                              .hpa = walk.hpa & ~offset_mask,
                              .writable = walk.writable,
                              .user = walk.user,
                              .nx = walk.nx,
                              .dirty = walk.dirty};
  tlb_.Fill(gva, entry);
  return {true, entry, 0};
}

void HostCpu::Emulate(uint64_t gpa, AccessKind kind, std::span<uint8_t> bytes,
                      HostAccessResult* result) {
  result->emulated = true;
  result->gpa = gpa;
  const std::optional<uint64_t> hpa = GpaToHpa(gpa);
  bool ram = hpa.has_value();
  ForEachPagePiece(gpa, bytes.size(), [&](uint64_t address, size_t, size_t) {
    ram = ram && GpaToHpa(address).has_value();
  });
  if (!ram) {
    result->kind = HostAccessResult::Kind::kMmio;
    return;
  }
  result->hpa = *hpa;
  if (kind == AccessKind::kWrite) {
    mmu_->EmulatedWrite(kBootVcpu, gpa, bytes);
  } else if (kind == AccessKind::kRead) {
    ReadGuest(gpa, bytes);
    result->value = LittleEndian(bytes);
  }
}

void HostCpu::EnterGuest() {
  if (tlb_tagging_ == HostTlbTagging::kUntagged) tlb_.FlushAll();
}

void HostCpu::Mappings(const HostRoot& root, std::vector<HostMapping>* out) {
  if (tables_written_in_place_) {
    EnumerateHostMappings(memory_, root, out);
    return;
  }
  RememberedMappings& remembered = remembered_[root];
  const bool unchanged =
      remembered.epoch != 0 &&
      std::none_of(remembered.tables.begin(), remembered.tables.end(),
                   [&](uint64_t hfn) {
                     return memory_.ChangedSince(hfn, remembered.epoch);
                   });
  if (!unchanged) {
    remembered.epoch = memory_.NewEpoch();
    remembered.tables.clear();
    EnumerateHostMappings(memory_, root, &remembered.mappings,
                          &remembered.tables);
  }
  *out = remembered.mappings;
}

void HostCpu::TlbMappings(std::vector<HostMapping>* out) const {
  out->clear();
  tlb_.ForEach([out](const HostTlbEntry& entry) {
    out->push_back({entry.gva, entry.page_size, entry.hpa, entry.writable,
                    entry.user, entry.nx});
  });
  std::sort(out->begin(), out->end(),
            [](const HostMapping& a, const HostMapping& b) {
              return a.gva != b.gva ? a.gva < b.gva : a.size < b.size;
            });
}

HostWalkTrace HostCpu::Trace(const HostRoot& root, uint64_t gva) const {
  return TraceHostWalk(memory_, root, gva);
}

void HostCpu::TakeWrittenGfns(std::vector<uint64_t>* out) {
  written_frames_.clear();
  memory_.TakeWrittenFrames(&written_frames_);
  for (const uint64_t hfn : written_frames_) {
    for (const MemorySlot& slot : slots_) {
      if (hfn >= slot.host_frame && hfn - slot.host_frame < slot.pages) {
        out->push_back(slot.base_gfn + (hfn - slot.host_frame));
      }
    }
  }
}

void HostCpu::InitGuest(uint64_t gpa, std::span<const uint8_t> bytes) {
  WriteGuest(gpa, bytes);
}

std::optional<uint64_t> HostCpu::GfnToHfn(uint64_t gfn) const {
  for (const MemorySlot& slot : slots_) {
    if (gfn >= slot.base_gfn && gfn - slot.base_gfn < slot.pages) {
      return slot.host_frame + (gfn - slot.base_gfn);
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> HostCpu::GpaToHpa(uint64_t gpa) const {
  const std::optional<uint64_t> hfn = GfnToHfn(gpa / kPageBytes);
  if (!hfn.has_value()) return std::nullopt;
  return *hfn * kPageBytes + gpa % kPageBytes;
}

const uint8_t* HostCpu::GuestPageBytes(uint64_t gfn) const {
  const std::optional<uint64_t> hfn = GfnToHfn(gfn);
  return hfn.has_value() ? memory_.FrameBytes(*hfn) : nullptr;
}

bool HostCpu::ReadGuest(uint64_t gpa, std::span<uint8_t> out) const {
  bool all_ram = true;
  ForEachPagePiece(
      gpa, out.size(), [&](uint64_t address, size_t offset, size_t length) {
        const std::span<uint8_t> piece = out.subspan(offset, length);
        if (const std::optional<uint64_t> hpa = GpaToHpa(address)) {
          memory_.Read(*hpa, piece);
        } else {
          std::fill(piece.begin(), piece.end(), 0);
          all_ram = false;
        }
      });
  return all_ram;
}

bool HostCpu::WriteGuest(uint64_t gpa, std::span<const uint8_t> bytes) {
  bool all_ram = true;
  ForEachPagePiece(
      gpa, bytes.size(), [&](uint64_t address, size_t offset, size_t length) {
        if (const std::optional<uint64_t> hpa = GpaToHpa(address)) {
          memory_.Write(*hpa, bytes.subspan(offset, length));
        } else {
          all_ram = false;
        }
      });
  return all_ram;
}

absl::StatusOr<uint64_t> HostCpu::AllocateFrame() {
  return memory_.AllocateFrame();
}

void HostCpu::FreeFrame(uint64_t hfn) { memory_.FreeFrame(hfn); }

uint64_t HostCpu::ReadSpte(uint64_t hpa) const { return memory_.Read64(hpa); }

void HostCpu::WriteSpte(uint64_t hpa, uint64_t value) {
  memory_.Write64(hpa, value);
}

void HostCpu::ReadTable(uint64_t hfn,
                        std::span<uint64_t, spte::kEntriesPerTable> out) const {
  memory_.Read(
      hfn * HostMemory::kPageBytes,
      {reinterpret_cast<uint8_t*>(out.data()), HostMemory::kPageBytes});
}

void HostCpu::FlushTlb(VcpuSet vcpus, uint64_t gva) {
  if (!vcpus.Has(kBootVcpu)) return;
  ++tlb_flushes_single_;
  tlb_.Flush(gva);
}

void HostCpu::FlushTlbAll(VcpuSet vcpus) {
  if (!vcpus.Has(kBootVcpu)) return;
  ++tlb_flushes_all_;
  tlb_.FlushAll();
}

TableWindow HostCpu::TableFrames() const { return memory_.Window(); }

void HostCpu::ReportMmuError(std::string_view message) {
  if (!mmu_error_.empty()) return;
  mmu_error_ =
      message.empty() ? std::string("(no message)") : std::string(message);
}

}  // namespace shadowdiff::host
