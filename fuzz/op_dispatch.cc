#include "fuzz/op_dispatch.h"

#include "fuzz/initial_memory.h"
#include "proto/entry_encoding.h"

namespace shadowdiff {

void DispatchOp(const Op& op, PagingMode mode, OpTarget& target) {
  switch (op.kind_case()) {
    case Op::kStore:
      target.Access(op.store().gva(), model::AccessKind::kWrite,
                    op.store().width(), op.store().value(), op.store().user());
      break;
    case Op::kLoad:
      target.Access(op.load().gva(), model::AccessKind::kRead,
                    op.load().width(), 0, op.load().user());
      break;
    case Op::kFetch:
      target.Access(op.fetch().gva(), model::AccessKind::kFetch, 1, 0,
                    op.fetch().user());
      break;
    case Op::kWriteEntry: {
      const auto bytes = LittleEndian(EntryValue(op.write_entry(), mode));
      target.WritePhysical(
          EntryAddress(op.write_entry(), mode),
          std::span<const uint8_t>(bytes.data(), EntryBytes(mode)));
      break;
    }
    case Op::kPhysWrite: {
      const auto bytes = LittleEndian(op.phys_write().value());
      target.WritePhysical(
          op.phys_write().gpa(),
          std::span<const uint8_t>(bytes.data(), op.phys_write().length()));
      break;
    }
    case Op::kInvlpg:
      target.Invlpg(op.invlpg().gva());
      break;
    case Op::kLoadCr3:
      target.LoadCr3(Cr3Value(op.load_cr3()));
      break;
    case Op::kSetControl:
      target.SetControl(op.set_control().bit(), op.set_control().value());
      break;
    case Op::kInvpcid:
      target.Invpcid(op.invpcid().type(), op.invpcid().pcid(),
                     op.invpcid().gva());
      break;
    case Op::KIND_NOT_SET:
      break;
  }
}

}  // namespace shadowdiff
