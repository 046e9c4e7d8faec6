#ifndef SHADOWDIFF_HOST_HOST_MEMORY_H_
#define SHADOWDIFF_HOST_HOST_MEMORY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "host/host_services.h"

namespace shadowdiff::host {

// Host physical memory: sparse 4 KB frames that read as zero until first
// written, plus the pool the MMU under test takes its table frames from.
//
// Table frames are real, page-aligned memory in one window, frame
// kFirstTableFrame + i at Window().base + i * 4 KB, so that an MMU that
// owns its tables (include/shadowdiff/mmu.h) writes them through pointers and
// the host walker reads them in place. Writes through such pointers bypass
// Write: they are neither stamped nor listed (see ChangedSince).
class HostMemory {
 public:
  static constexpr uint64_t kPageBytes = 4096;
  // Table frames start here, above every host frame that backs guest RAM
  // (those lie below 2^30), so a table can never alias guest RAM by accident.
  static constexpr uint64_t kFirstTableFrame = uint64_t{1} << 32;

  explicit HostMemory(uint64_t max_table_frames);
  ~HostMemory();
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;

  // Back to all zero with no table frame handed out, as a new HostMemory
  // would be, but keeping the buffers: a fuzzer runs case after case on one.
  void Reset();

  // Byte accesses at any hpa; they may span frames.
  void Read(uint64_t hpa, std::span<uint8_t> out) const;
  void Write(uint64_t hpa, std::span<const uint8_t> bytes);

  // Little-endian 8-byte accesses, the width of a host paging entry.
  uint64_t Read64(uint64_t hpa) const;

  // The bytes of a frame, or nullptr while it has never been written (all
  // zero): for code that reads a whole table, one lookup instead of 512.
  const uint8_t* FrameBytes(uint64_t hfn) const;
  void Write64(uint64_t hpa, uint64_t value);

  // Appends to *out the frames below kFirstTableFrame (those that can back
  // guest RAM) written since the last call, each once, so that changes to
  // guest RAM made behind the guest's back (e.g. by a walker pointed at it)
  // are seen.
  void TakeWrittenFrames(std::vector<uint64_t>* out);

  // A zeroed table frame. At most max_table_frames are live at once: past
  // that, ResourceExhaustedError, as a real host would run out of memory.
  absl::StatusOr<uint64_t> AllocateFrame();
  // Frees a frame from AllocateFrame; anything else is ignored so that a
  // double free cannot hand the same frame out twice. The contents stay until
  // the frame is reused, as on real hardware, so a use after free still walks.
  void FreeFrame(uint64_t hfn);
  uint64_t live_table_frames() const { return live_frames_.size(); }

  const TableWindow& Window() const { return window_; }
  // The memory of table frame hfn (handed out by AllocateFrame), or nullptr
  // for any other frame.
  uint8_t* TableFrame(uint64_t hfn) const;

  // For readers that remember what they read: NewEpoch starts an epoch and
  // returns it; ChangedSince tells whether frame hfn was written, or handed
  // out again by AllocateFrame, during that epoch or a later one. It knows
  // only of writes made through this class, not through Window().
  uint64_t NewEpoch() { return ++epoch_; }
  bool ChangedSince(uint64_t hfn, uint64_t epoch) const;

 private:
  using Page = std::array<uint8_t, kPageBytes>;

  // Freed pages of every HostMemory of this thread, for the next ones: a
  // fuzzer builds a host memory per input, and allocating each page anew is a
  // large share of a run under AddressSanitizer.
  static std::vector<std::unique_ptr<Page>>& PagePool();
  void ReleasePages();

  // The page of hfn, or nullptr while it reads as zero. Accesses cluster on
  // a few frames (a walk, a table scan), so the last one found is remembered.
  Page* Find(uint64_t hfn) const;
  Page& Materialize(uint64_t hfn);
  // Notes that frame hfn changes in the current epoch.
  void Stamp(uint64_t hfn);

  uint64_t max_table_frames_;
  TableWindow window_;
  // Table frames below this one have been handed out since the last Reset;
  // the others read as zero whatever the window holds from an earlier case.
  uint64_t table_frames_used_ = 0;
  // unique_ptr keeps pages in place while the map rehashes.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Page>> pages_;
  // Frames written since the last TakeWrittenFrames, a run of writes to one
  // frame listed once (a set costs more than the few repeats left).
  std::vector<uint64_t> written_frames_;
  absl::flat_hash_set<uint64_t> live_frames_;
  // Reused last-in first-out, which keeps allocation deterministic.
  std::vector<uint64_t> free_frames_;
  uint64_t next_unused_frame_ = kFirstTableFrame;
  mutable uint64_t last_hfn_ = ~uint64_t{0};
  mutable Page* last_page_ = nullptr;
  uint64_t epoch_ = 0;
  // The epoch of each frame's last change; the last one stamped is
  // remembered, as writes come in runs to one frame.
  absl::flat_hash_map<uint64_t, uint64_t> change_epochs_;
  uint64_t last_stamped_hfn_ = ~uint64_t{0};
  uint64_t last_stamped_epoch_ = 0;
};

}  // namespace shadowdiff::host

#endif  // SHADOWDIFF_HOST_HOST_MEMORY_H_
