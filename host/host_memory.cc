#include "host/host_memory.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace shadowdiff::host {

HostMemory::HostMemory(uint64_t max_table_frames)
    : max_table_frames_(max_table_frames) {}

void HostMemory::Read(uint64_t hpa, std::span<uint8_t> out) const {
  while (!out.empty()) {
    const uint64_t offset = hpa % kPageBytes;
    const size_t chunk = std::min<uint64_t>(out.size(), kPageBytes - offset);
    const auto it = pages_.find(hpa / kPageBytes);
    if (it == pages_.end()) {
      std::memset(out.data(), 0, chunk);
    } else {
      std::memcpy(out.data(), it->second->data() + offset, chunk);
    }
    hpa += chunk;
    out = out.subspan(chunk);
  }
}

void HostMemory::Write(uint64_t hpa, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const uint64_t hfn = hpa / kPageBytes;
    const uint64_t offset = hpa % kPageBytes;
    const size_t chunk = std::min<uint64_t>(bytes.size(), kPageBytes - offset);
    std::unique_ptr<Page>& page = pages_[hfn];
    if (page == nullptr) page = std::make_unique<Page>();  // value-initialized
    std::memcpy(page->data() + offset, bytes.data(), chunk);
    written_frames_.insert(hfn);
    hpa += chunk;
    bytes = bytes.subspan(chunk);
  }
}

uint64_t HostMemory::Read64(uint64_t hpa) const {
  std::array<uint8_t, 8> bytes;
  Read(hpa, bytes);
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

const uint8_t* HostMemory::FrameBytes(uint64_t hfn) const {
  const auto it = pages_.find(hfn);
  return it == pages_.end() ? nullptr : it->second->data();
}

void HostMemory::Write64(uint64_t hpa, uint64_t value) {
  std::array<uint8_t, 8> bytes;
  for (uint8_t& byte : bytes) {
    byte = static_cast<uint8_t>(value);
    value >>= 8;
  }
  Write(hpa, bytes);
}

absl::flat_hash_set<uint64_t> HostMemory::TakeWrittenFrames() {
  return std::exchange(written_frames_, {});
}

absl::StatusOr<uint64_t> HostMemory::AllocateFrame() {
  if (live_frames_.size() >= max_table_frames_) {
    return absl::ResourceExhaustedError("host table frame budget exhausted");
  }
  uint64_t hfn;
  if (free_frames_.empty()) {
    hfn = next_unused_frame_++;
  } else {
    hfn = free_frames_.back();
    free_frames_.pop_back();
  }
  pages_.erase(hfn);  // reads as zero again
  live_frames_.insert(hfn);
  return hfn;
}

void HostMemory::FreeFrame(uint64_t hfn) {
  if (live_frames_.erase(hfn) == 0) return;
  free_frames_.push_back(hfn);
}

}  // namespace shadowdiff::host
