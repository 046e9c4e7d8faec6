#include "model/guest_memory.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace shadowdiff::model {
namespace {

constexpr uint64_t kPageBytes = 4096;
constexpr size_t kMaxPooledPages = 4096;

uint64_t GfnOf(uint64_t gpa) { return gpa / kPageBytes; }
uint64_t PageOffset(uint64_t gpa) { return gpa % kPageBytes; }

// The bytes of [gpa, gpa + length) that lie in gpa's page.
uint64_t ChunkInPage(uint64_t gpa, uint64_t length) {
  return std::min(length, kPageBytes - PageOffset(gpa));
}

const MemorySlot* SlotOf(const std::vector<MemorySlot>& slots, uint64_t gfn) {
  for (const MemorySlot& slot : slots) {
    if (gfn >= slot.base_gfn() && gfn - slot.base_gfn() < slot.pages()) {
      return &slot;
    }
  }
  return nullptr;
}

}  // namespace

GuestMemory::GuestMemory(std::vector<MemorySlot> slots)
    : slots_(std::move(slots)) {
  // Built before this memory is, the pool outlives it: a thread_local memory
  // (the fuzzer's) is destroyed at thread exit after objects built later.
  PagePool();
  // Sized for a typical case, so that they do not grow step by step.
  pages_.reserve(32);
  written_.reserve(32);
}

GuestMemory::~GuestMemory() { ReleasePages(); }

void GuestMemory::Reset(
    const google::protobuf::RepeatedPtrField<MemorySlot>& slots) {
  ReleasePages();
  slots_.assign(slots.begin(), slots.end());
}

void GuestMemory::ReleasePages() {
  std::vector<std::unique_ptr<Page>>& pool = PagePool();
  for (auto& [gfn, page] : pages_) {
    if (pool.size() == kMaxPooledPages) break;
    pool.push_back(std::move(page));
  }
  pages_.clear();
  written_.clear();
}

std::vector<std::unique_ptr<GuestMemory::Page>>& GuestMemory::PagePool() {
  thread_local std::vector<std::unique_ptr<Page>> pool;
  return pool;
}

GuestMemory::Page& GuestMemory::Materialize(uint64_t gfn) {
  std::unique_ptr<Page>& page = pages_[gfn];
  if (page != nullptr) return *page;
  std::vector<std::unique_ptr<Page>>& pool = PagePool();
  if (pool.empty()) {
    page = std::make_unique<Page>();  // value-initialized
  } else {
    page = std::move(pool.back());
    pool.pop_back();
    page->fill(0);
  }
  return *page;
}

bool GuestMemory::IsRam(uint64_t gpa) const {
  return SlotOf(slots_, GfnOf(gpa)) != nullptr;
}

std::optional<uint64_t> GuestMemory::HostAddress(uint64_t gpa) const {
  const MemorySlot* slot = SlotOf(slots_, GfnOf(gpa));
  if (slot == nullptr) return std::nullopt;
  const uint64_t host_frame =
      slot->host_frame() + GfnOf(gpa) - slot->base_gfn();
  return host_frame * kPageBytes + PageOffset(gpa);
}

const uint8_t* GuestMemory::PageBytes(uint64_t gfn) const {
  auto page = pages_.find(gfn);
  return page == pages_.end() ? nullptr : page->second->data();
}

// Bytes outside RAM read as zero, and the read reports failure.
bool GuestMemory::Read(uint64_t gpa, std::span<uint8_t> out) const {
  bool all_ram = true;
  while (!out.empty()) {
    const uint64_t chunk = ChunkInPage(gpa, out.size());
    auto page = pages_.find(GfnOf(gpa));
    if (page == pages_.end()) {
      std::memset(out.data(), 0, chunk);
    } else {
      std::memcpy(out.data(), page->second->data() + PageOffset(gpa), chunk);
    }
    all_ram = all_ram && IsRam(gpa);
    gpa += chunk;
    out = out.subspan(chunk);
  }
  return all_ram;
}

// Bytes outside RAM are dropped, and the write reports failure.
bool GuestMemory::Write(uint64_t gpa, std::span<const uint8_t> bytes) {
  bool all_ram = true;
  while (!bytes.empty()) {
    const uint64_t chunk = ChunkInPage(gpa, bytes.size());
    if (IsRam(gpa)) {
      uint8_t* at = Materialize(GfnOf(gpa)).data() + PageOffset(gpa);
      if (journal_ != nullptr) {
        journal_->Record(gpa, std::span<const uint8_t>(at, chunk));
      }
      std::memcpy(at, bytes.data(), chunk);
      if (written_.empty() || written_.back() != GfnOf(gpa)) {
        written_.push_back(GfnOf(gpa));
      }
    } else {
      all_ram = false;
    }
    gpa += chunk;
    bytes = bytes.subspan(chunk);
  }
  return all_ram;
}

void GuestMemory::TakeWrittenGfns(std::vector<uint64_t>* out) {
  std::sort(written_.begin(), written_.end());
  out->insert(out->end(), written_.begin(),
              std::unique(written_.begin(), written_.end()));
  written_.clear();
}

std::vector<uint64_t> GuestMemory::TouchedGfns() const {
  std::vector<uint64_t> gfns;
  gfns.reserve(pages_.size());
  for (const auto& [gfn, page] : pages_) gfns.push_back(gfn);
  std::sort(gfns.begin(), gfns.end());
  return gfns;
}

}  // namespace shadowdiff::model
