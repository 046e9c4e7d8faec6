#include "fuzz/case_scan.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "fuzz/initial_memory.h"
#include "fuzz/op_dispatch.h"
#include "model/guest_memory.h"
#include "model/physical_memory.h"
#include "model/reference.h"
#include "proto/entry_encoding.h"
#include "proto/normalize.h"

namespace shadowdiff {
namespace {

// The scan only needs the reference's state, not what each op returned.
class ReferenceTarget final : public OpTarget {
 public:
  explicit ReferenceTarget(model::Reference& ref) : ref_(ref) {}
  void Access(uint64_t gva, model::AccessKind kind, int width, uint64_t value,
              bool user) override {
    ref_.Access(gva, kind, width, value, user);
  }
  void WritePhysical(uint64_t gpa, std::span<const uint8_t> bytes) override {
    ref_.WritePhysical(gpa, bytes);
  }
  void Invlpg(uint64_t gva) override { ref_.Invlpg(gva); }
  void LoadCr3(uint64_t cr3) override { ref_.LoadCr3(cr3); }
  void SetControl(ControlBit bit, bool value) override {
    ref_.SetControl(bit, value);
  }
  void Invpcid(uint32_t type, uint32_t pcid, uint64_t gva) override {
    ref_.Invpcid(type, pcid, gva);
  }

 private:
  model::Reference& ref_;
};

uint64_t AccessedGva(const Op& op) {
  switch (op.kind_case()) {
    case Op::kStore:
      return op.store().gva();
    case Op::kLoad:
      return op.load().gva();
    case Op::kFetch:
      return op.fetch().gva();
    case Op::kInvlpg:
      return op.invlpg().gva();
    case Op::kInvpcid:
      return op.invpcid().gva();
    default:
      return 0;
  }
}

template <typename T>
void AddUnique(CaseScan::List<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

CaseScan ScanCase(const Case& c, int op_count) {
  CaseScan scan;
  if (IsEmpty(c)) return scan;
  const PagingMode mode = c.setup().mode();
  // One per thread: the mutator scans for nearly every mutation.
  thread_local model::GuestMemory memory({});
  memory.Reset(c.setup().slots());
  ForEachInitialWrite(c.setup(),
                      [](uint64_t gpa, std::span<const uint8_t> bytes) {
                        memory.Write(gpa, bytes);
                      });
  model::Reference ref(memory, c.setup());
  ReferenceTarget target(ref);
  ref.LoadCr3(Cr3Value(c.setup().cr3()));
  scan.cr3s.push_back(Cr3Value(c.setup().cr3()));
  for (int i = 0; i < c.ops_size(); ++i) {
    const Op& op = c.ops(i);
    if (op.has_load_cr3()) {
      AddUnique(scan.cr3s, Cr3Value(op.load_cr3()) & ~kCr3NoFlush);
    }
    if (op.has_store() || op.has_load() || op.has_fetch() || op.has_invlpg() ||
        (op.has_invpcid() && op.invpcid().type() == 0)) {
      AddUnique(scan.gvas, AccessedGva(op) & ~uint64_t{0xFFF});
    }
    if (i < op_count) DispatchOp(op, mode, target);
  }
  scan.state = ref.state();

  for (uint64_t gva : scan.gvas) {
    const model::WalkResult walk = ref.WalkOf(gva);
    for (const model::WalkLevel& level : walk.levels) {
      AddUnique(scan.table_gfns, level.entry_gpa >> 12);
      const bool seen = std::any_of(
          scan.entries.begin(), scan.entries.end(),
          [&](const CaseScan::Entry& e) { return e.gpa == level.entry_gpa; });
      if (seen) continue;
      // A PAE PDPTE is aimed at in memory, where the guest writes it, while
      // the walk went through the register loaded at the last CR3 load: the
      // two may differ, and an MMU that reads memory again gets it wrong.
      const uint64_t value =
          level.from_register
              ? model::ReadLittleEndian(memory, level.entry_gpa, 8).value_or(0)
              : level.value;
      scan.entries.push_back({.gpa = level.entry_gpa,
                              .value = value,
                              .level = level.level,
                              .gva = gva});
    }
    if (walk.status == model::WalkResult::Status::kOk) {
      AddUnique(scan.leaf_gfns, walk.gpa >> 12);
    }
  }
  for (uint64_t gva : scan.gvas) {
    const model::WalkResult walk = ref.WalkOf(gva);
    const uint64_t gfn = walk.gpa >> 12;
    if (walk.status != model::WalkResult::Status::kOk) continue;
    if (std::find(scan.table_gfns.begin(), scan.table_gfns.end(), gfn) !=
        scan.table_gfns.end()) {
      scan.aliases.push_back({.gva = gva, .table_gfn = gfn});
    } else if (walk.writable && memory.IsRam(walk.gpa)) {
      scan.writable_pages.push_back({.gva = gva, .gfn = gfn});
    }
  }
  return scan;
}

}  // namespace shadowdiff
