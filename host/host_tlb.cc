#include "host/host_tlb.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "host/guest_state.h"

namespace shadowdiff::host {

std::optional<HostTlbEntry> HostTlb::Lookup(uint64_t gva,
                                            AccessKind kind) const {
  for (size_t i = 0; i < kPageSizes.size(); ++i) {
    const auto it = entries_[i].find(gva & ~(kPageSizes[i] - 1));
    if (it == entries_[i].end()) continue;
    if (kind == AccessKind::kWrite && !it->second.dirty) return std::nullopt;
    return it->second;
  }
  return std::nullopt;
}

void HostTlb::Fill(uint64_t gva, const HostTlbEntry& entry) {
  Flush(gva);
  for (size_t i = 0; i < kPageSizes.size(); ++i) {
    if (kPageSizes[i] == entry.page_size) entries_[i][entry.gva] = entry;
  }
}

void HostTlb::Flush(uint64_t gva) {
  for (size_t i = 0; i < kPageSizes.size(); ++i) {
    entries_[i].erase(gva & ~(kPageSizes[i] - 1));
  }
}

void HostTlb::FlushAll() {
  for (auto& entries : entries_) entries.clear();
}

std::vector<HostTlbEntry> HostTlb::Entries() const {
  std::vector<HostTlbEntry> all;
  ForEach([&all](const HostTlbEntry& entry) { all.push_back(entry); });
  std::sort(all.begin(), all.end(),
            [](const HostTlbEntry& a, const HostTlbEntry& b) {
              return a.gva != b.gva ? a.gva < b.gva : a.page_size < b.page_size;
            });
  return all;
}

}  // namespace shadowdiff::host
