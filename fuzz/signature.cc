#include "fuzz/signature.h"

#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "fuzz/outcome.h"

namespace shadowdiff {
namespace {

std::string_view OpKindName(const Case& c, int index) {
  if (index < 0) return "set-up";
  if (index >= c.ops_size()) return "end";
  switch (c.ops(index).kind_case()) {
    case Op::kStore:
      return "store";
    case Op::kLoad:
      return "load";
    case Op::kFetch:
      return "fetch";
    case Op::kWriteEntry:
      return "write_entry";
    case Op::kPhysWrite:
      return "phys_write";
    case Op::kInvlpg:
      return "invlpg";
    case Op::kLoadCr3:
      return "load_cr3";
    case Op::kSetControl:
      return "set_control";
    case Op::kInvpcid:
      return "invpcid";
    case Op::KIND_NOT_SET:
      break;
  }
  return "none";
}

std::string_view ModeToken(PagingMode mode) {
  switch (mode) {
    case PAGING_PAE:
      return "pae";
    case PAGING_4LEVEL:
      return "4-level";
    default:
      return "32-bit";
  }
}

std::string_view OutcomeKindName(Outcome::Kind kind) {
  switch (kind) {
    case Outcome::Kind::kNone:
      return "none";
    case Outcome::Kind::kOk:
      return "ok";
    case Outcome::Kind::kPageFault:
      return "pf";
    case Outcome::Kind::kMmio:
      return "mmio";
    case Outcome::Kind::kAccepted:
      return "accepted";
    case Outcome::Kind::kGp:
      return "gp";
    case Outcome::Kind::kLivelock:
      return "livelock";
    case Outcome::Kind::kMmuError:
      return "mmu-error";
  }
  return "?";
}

std::string LevelField(const std::optional<model::WalkResult>& walk) {
  if (!walk || walk->levels.empty()) return "L-";
  if (walk->status != model::WalkResult::Status::kOk) {
    return absl::StrFormat("L%d", walk->fault_level);
  }
  return absl::StrFormat("L%d", walk->levels.back().level);
}

std::string ErrorCodeField(const Divergence& d) {
  if (d.reference.kind != Outcome::Kind::kPageFault ||
      d.mmu.kind != Outcome::Kind::kPageFault) {
    return "ec=-";
  }
  const uint32_t differ = d.reference.error_code ^ d.mmu.error_code;
  if (differ == 0) return "ec=same";
  return "ec^=" + ErrorCodeBitNames(differ);
}

}  // namespace

std::string Signature(const Case& c, const Divergence& d) {
  return absl::StrFormat("%s/%s/%s/%s/ref=%s,mmu=%s/%s", KindName(d.kind),
                         OpKindName(c, d.op_index), ModeToken(c.setup().mode()),
                         LevelField(d.reference_walk),
                         OutcomeKindName(d.reference.kind),
                         OutcomeKindName(d.mmu.kind), ErrorCodeField(d));
}

}  // namespace shadowdiff
