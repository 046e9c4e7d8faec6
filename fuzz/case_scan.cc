#include "fuzz/case_scan.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "fuzz/initial_memory.h"
#include "model/guest_memory.h"
#include "model/reference.h"
#include "proto/entry_encoding.h"
#include "proto/normalize.h"

namespace shadowdiff {
namespace {

void ApplyToReference(model::Reference& ref, const Op& op, PagingMode mode) {
  switch (op.kind_case()) {
    case Op::kStore:
      ref.Access(op.store().gva(), model::AccessKind::kWrite,
                 op.store().width(), op.store().value(), op.store().user());
      break;
    case Op::kLoad:
      ref.Access(op.load().gva(), model::AccessKind::kRead, op.load().width(),
                 0, op.load().user());
      break;
    case Op::kFetch:
      ref.Access(op.fetch().gva(), model::AccessKind::kFetch, 1, 0,
                 op.fetch().user());
      break;
    case Op::kWriteEntry: {
      const auto bytes = LittleEndian(EntryValue(op.write_entry(), mode));
      ref.WritePhysical(EntryAddress(op.write_entry(), mode),
                        std::span<const uint8_t>(bytes.data(), EntryBytes(mode)));
      break;
    }
    case Op::kPhysWrite: {
      const auto bytes = LittleEndian(op.phys_write().value());
      ref.WritePhysical(op.phys_write().gpa(),
                        std::span<const uint8_t>(bytes.data(),
                                                 op.phys_write().length()));
      break;
    }
    case Op::kInvlpg:
      ref.Invlpg(op.invlpg().gva());
      break;
    case Op::kLoadCr3:
      ref.LoadCr3(Cr3Value(op.load_cr3()));
      break;
    case Op::kSetControl:
      ref.SetControl(op.set_control().bit(), op.set_control().value());
      break;
    case Op::KIND_NOT_SET:
      break;
  }
}

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
    default:
      return 0;
  }
}

template <typename T>
void AddUnique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

CaseScan ScanCase(const Case& c, int op_count) {
  CaseScan scan;
  if (IsEmpty(c)) return scan;
  const PagingMode mode = c.setup().mode();
  model::GuestMemory memory(
      std::vector<MemorySlot>(c.setup().slots().begin(), c.setup().slots().end()));
  ForEachInitialWrite(c.setup(),
                      [&memory](uint64_t gpa, std::span<const uint8_t> bytes) {
                        memory.Write(gpa, bytes);
                      });
  model::Reference ref(memory, c.setup());
  ref.LoadCr3(Cr3Value(c.setup().cr3()));
  scan.cr3s.push_back(Cr3Value(c.setup().cr3()));
  for (int i = 0; i < c.ops_size(); ++i) {
    const Op& op = c.ops(i);
    if (op.has_load_cr3()) AddUnique(scan.cr3s, Cr3Value(op.load_cr3()));
    if (op.has_store() || op.has_load() || op.has_fetch() || op.has_invlpg()) {
      AddUnique(scan.gvas, AccessedGva(op) & ~uint64_t{0xFFF});
    }
    if (i < op_count) ApplyToReference(ref, op, mode);
  }
  scan.state = ref.state();

  absl::flat_hash_set<uint64_t> seen_entries;
  for (uint64_t gva : scan.gvas) {
    const model::WalkResult walk = ref.WalkOf(gva);
    for (const model::WalkLevel& level : walk.levels) {
      if (level.from_register) continue;
      AddUnique(scan.table_gfns, level.entry_gpa >> 12);
      if (seen_entries.insert(level.entry_gpa).second) {
        scan.entries.push_back({.gpa = level.entry_gpa,
                                .value = level.value,
                                .level = level.level,
                                .gva = gva});
      }
    }
    if (walk.status == model::WalkResult::Status::kOk) {
      AddUnique(scan.leaf_gfns, walk.gpa >> 12);
    }
  }
  for (uint64_t gva : scan.gvas) {
    const model::WalkResult walk = ref.WalkOf(gva);
    const uint64_t gfn = walk.gpa >> 12;
    if (walk.status == model::WalkResult::Status::kOk &&
        std::find(scan.table_gfns.begin(), scan.table_gfns.end(), gfn) !=
            scan.table_gfns.end()) {
      scan.aliases.push_back({.gva = gva, .table_gfn = gfn});
    }
  }
  return scan;
}

}  // namespace shadowdiff
