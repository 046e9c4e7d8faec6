#include "model/write_journal.h"

#include <algorithm>

namespace shadowdiff::model {

void WriteJournal::Reset() {
  version_ = 0;
  writes_.clear();
}

void WriteJournal::Record(uint64_t gpa, std::span<const uint8_t> before) {
  writes_.push_back({.version = ++version_,
                     .gpa = gpa,
                     .before = {before.begin(), before.end()}});
}

void WriteJournal::RollBack(uint64_t version, PhysicalMemory& memory) {
  while (!writes_.empty() && writes_.back().version > version) {
    const Write& w = writes_.back();
    memory.Write(w.gpa, w.before);
    writes_.pop_back();
  }
}

uint64_t WriteJournal::NextWrite(uint64_t gpa, int bytes,
                                 uint64_t after) const {
  auto w = std::upper_bound(
      writes_.begin(), writes_.end(), after,
      [](uint64_t v, const Write& write) { return v < write.version; });
  for (; w != writes_.end(); ++w) {
    if (w->gpa < gpa + bytes && gpa < w->gpa + w->before.size()) {
      return w->version;
    }
  }
  return UINT64_MAX;
}

absl::InlinedVector<WriteJournal::Held, 4> WriteJournal::History(
    uint64_t gpa, int bytes, uint64_t now, uint64_t from) const {
  absl::InlinedVector<Held, 4> newest_first;
  uint64_t value = now;
  for (auto w = writes_.rbegin(); w != writes_.rend() && w->version > from;
       ++w) {
    const uint64_t begin = std::max(gpa, w->gpa);
    const uint64_t end = std::min(gpa + bytes, w->gpa + w->before.size());
    if (begin >= end) continue;
    newest_first.push_back({.since = w->version, .value = value});
    for (uint64_t a = begin; a < end; ++a) {
      const int shift = 8 * static_cast<int>(a - gpa);
      value = (value & ~(uint64_t{0xFF} << shift)) |
              uint64_t{w->before[a - w->gpa]} << shift;
    }
  }
  newest_first.push_back({.since = from, .value = value});
  absl::InlinedVector<Held, 4> history;
  for (auto h = newest_first.rbegin(); h != newest_first.rend(); ++h) {
    if (!history.empty() && history.back().value == h->value) continue;
    history.push_back(*h);
  }
  return history;
}

}  // namespace shadowdiff::model
