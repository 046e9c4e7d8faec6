#include "host/host_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace shadowdiff::host {

namespace {

// Enough for the largest cases; more is returned to the allocator.
constexpr size_t kMaxPooledPages = 4096;

}  // namespace

HostMemory::HostMemory(uint64_t max_table_frames)
    : max_table_frames_(max_table_frames) {
  // Address space only: pages are committed as the MMU first touches them,
  // and the same ones serve case after case.
  window_.bytes = max_table_frames * kPageBytes;
  void* base = mmap(nullptr, window_.bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    std::fprintf(stderr,
                 "shadowdiff: cannot reserve %llu bytes of table "
                 "frames\n",
                 static_cast<unsigned long long>(window_.bytes));
    std::abort();
  }
  window_.base = static_cast<uint8_t*>(base);
  window_.base_hpa = kFirstTableFrame * kPageBytes;
  // Built before this memory is, the pool outlives it: a thread_local memory
  // (the fuzzer's) is destroyed at thread exit after objects built later.
  PagePool();
  // Sized for a typical case, so that they do not grow step by step.
  pages_.reserve(64);
  written_frames_.reserve(32);
}

HostMemory::~HostMemory() {
  ReleasePages();
  munmap(window_.base, window_.bytes);
}

void HostMemory::Reset() {
  ReleasePages();
  written_frames_.clear();
  live_frames_.clear();
  free_frames_.clear();
  next_unused_frame_ = kFirstTableFrame;
  table_frames_used_ = 0;
  change_epochs_.clear();
  last_stamped_hfn_ = ~uint64_t{0};
}

void HostMemory::ReleasePages() {
  std::vector<std::unique_ptr<Page>>& pool = PagePool();
  for (auto& [hfn, page] : pages_) {
    if (pool.size() == kMaxPooledPages) break;
    pool.push_back(std::move(page));
  }
  pages_.clear();
  last_hfn_ = ~uint64_t{0};
  last_page_ = nullptr;
}

std::vector<std::unique_ptr<HostMemory::Page>>& HostMemory::PagePool() {
  thread_local std::vector<std::unique_ptr<Page>> pool;
  return pool;
}

uint8_t* HostMemory::TableFrame(uint64_t hfn) const {
  if (hfn < kFirstTableFrame || hfn - kFirstTableFrame >= table_frames_used_) {
    return nullptr;
  }
  return window_.base + (hfn - kFirstTableFrame) * kPageBytes;
}

HostMemory::Page* HostMemory::Find(uint64_t hfn) const {
  if (hfn == last_hfn_) return last_page_;
  if (uint8_t* frame = TableFrame(hfn)) {
    // The window is page-aligned memory of Page's layout.
    last_hfn_ = hfn;
    last_page_ = reinterpret_cast<Page*>(frame);
    return last_page_;
  }
  const auto it = pages_.find(hfn);
  if (it == pages_.end()) return nullptr;
  last_hfn_ = hfn;
  last_page_ = it->second.get();
  return last_page_;
}

HostMemory::Page& HostMemory::Materialize(uint64_t hfn) {
  if (Page* page = Find(hfn)) return *page;
  std::unique_ptr<Page>& page = pages_[hfn];
  std::vector<std::unique_ptr<Page>>& pool = PagePool();
  if (pool.empty()) {
    page = std::make_unique<Page>();  // value-initialized
  } else {
    page = std::move(pool.back());
    pool.pop_back();
    page->fill(0);
  }
  last_hfn_ = hfn;
  last_page_ = page.get();
  return *page;
}

void HostMemory::Read(uint64_t hpa, std::span<uint8_t> out) const {
  while (!out.empty()) {
    const uint64_t offset = hpa % kPageBytes;
    const size_t chunk = std::min<uint64_t>(out.size(), kPageBytes - offset);
    if (const Page* page = Find(hpa / kPageBytes)) {
      std::memcpy(out.data(), page->data() + offset, chunk);
    } else {
      std::memset(out.data(), 0, chunk);
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
    std::memcpy(Materialize(hfn).data() + offset, bytes.data(), chunk);
    Stamp(hfn);
    if (hfn < kFirstTableFrame &&
        (written_frames_.empty() || written_frames_.back() != hfn)) {
      written_frames_.push_back(hfn);
    }
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
  const Page* page = Find(hfn);
  return page == nullptr ? nullptr : page->data();
}

void HostMemory::Write64(uint64_t hpa, uint64_t value) {
  std::array<uint8_t, 8> bytes;
  for (uint8_t& byte : bytes) {
    byte = static_cast<uint8_t>(value);
    value >>= 8;
  }
  Write(hpa, bytes);
}

void HostMemory::TakeWrittenFrames(std::vector<uint64_t>* out) {
  std::sort(written_frames_.begin(), written_frames_.end());
  out->insert(out->end(), written_frames_.begin(),
              std::unique(written_frames_.begin(), written_frames_.end()));
  written_frames_.clear();
}

absl::StatusOr<uint64_t> HostMemory::AllocateFrame() {
  if (live_frames_.size() >= max_table_frames_) {
    return absl::ResourceExhaustedError("host table frame budget exhausted");
  }
  uint64_t hfn;
  if (free_frames_.empty()) {
    hfn = next_unused_frame_++;
    ++table_frames_used_;
    // A frame first handed out since Reset may have been written behind the
    // window (an MMU's stray WriteSpte) and may hold an earlier case's table.
    if (hfn == last_hfn_) last_hfn_ = ~uint64_t{0};
    pages_.erase(hfn);
  } else {
    hfn = free_frames_.back();
    free_frames_.pop_back();
  }
  std::memset(TableFrame(hfn), 0, kPageBytes);  // reads as zero again
  Stamp(hfn);
  live_frames_.insert(hfn);
  return hfn;
}

void HostMemory::Stamp(uint64_t hfn) {
  if (hfn == last_stamped_hfn_ && epoch_ == last_stamped_epoch_) return;
  change_epochs_[hfn] = epoch_;
  last_stamped_hfn_ = hfn;
  last_stamped_epoch_ = epoch_;
}

bool HostMemory::ChangedSince(uint64_t hfn, uint64_t epoch) const {
  const auto it = change_epochs_.find(hfn);
  return it != change_epochs_.end() && it->second >= epoch;
}

void HostMemory::FreeFrame(uint64_t hfn) {
  if (live_frames_.erase(hfn) == 0) return;
  free_frames_.push_back(hfn);
}

}  // namespace shadowdiff::host
