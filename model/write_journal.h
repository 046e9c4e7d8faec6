#ifndef SHADOWDIFF_MODEL_WRITE_JOURNAL_H_
#define SHADOWDIFF_MODEL_WRITE_JOURNAL_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "model/physical_memory.h"

namespace shadowdiff::model {

// Every write to guest memory since the case began, each at a version of its
// own, so that what an entry held at any earlier moment can be read back: a
// processor may still use a translation made from it (SDM 4.10). Versions
// also count the events that are not writes (CR3 loads, invalidations), so
// that "before" and "after" compare across both.
class WriteJournal {
 public:
  // One value an entry held, from version `since` until the next one.
  struct Held {
    uint64_t since = 0;
    uint64_t value = 0;
  };

  void Reset();

  uint64_t version() const { return version_; }
  // A new version for an event that writes no memory.
  uint64_t Tick() { return ++version_; }

  // A write at gpa over bytes that held `before`.
  void Record(uint64_t gpa, std::span<const uint8_t> before);

  // Undoes, in `memory`, every write made after `version` and forgets them.
  // `memory` must not record into this journal while it does.
  void RollBack(uint64_t version, PhysicalMemory& memory);

  // The values the `bytes`-wide little-endian entry at gpa held from version
  // `from` on, oldest first, given `now`, the value it holds now. Equal
  // neighbours are merged.
  absl::InlinedVector<Held, 4> History(uint64_t gpa, int bytes, uint64_t now,
                                       uint64_t from) const;

  // The first version after `after` whose write touches the `bytes` at gpa;
  // UINT64_MAX if none.
  uint64_t NextWrite(uint64_t gpa, int bytes, uint64_t after) const;

 private:
  struct Write {
    uint64_t version = 0;
    uint64_t gpa = 0;
    absl::InlinedVector<uint8_t, 8> before;
  };

  uint64_t version_ = 0;
  std::vector<Write> writes_;
};

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_WRITE_JOURNAL_H_
