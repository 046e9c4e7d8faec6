#include "fuzz/op_text.h"

#include "absl/strings/str_format.h"
#include "fuzz/case_support.h"
#include "proto/entry_encoding.h"

namespace shadowdiff {
namespace {

const char* Privilege(bool user) { return user ? "user" : "supervisor"; }

}  // namespace

std::string ModeName(PagingMode mode) {
  switch (mode) {
    case PAGING_32BIT:
      return "32-bit";
    case PAGING_PAE:
      return "PAE";
    case PAGING_4LEVEL:
      return "4-level";
    default:
      return "?";
  }
}

std::string OpText(const Op& op, PagingMode mode) {
  switch (op.kind_case()) {
    case Op::kStore:
      return absl::StrFormat("store %d bytes 0x%x at gva 0x%x (%s)",
                             op.store().width(), op.store().value(),
                             op.store().gva(), Privilege(op.store().user()));
    case Op::kLoad:
      return absl::StrFormat("load %d bytes at gva 0x%x (%s)",
                             op.load().width(), op.load().gva(),
                             Privilege(op.load().user()));
    case Op::kFetch:
      return absl::StrFormat("fetch at gva 0x%x (%s)", op.fetch().gva(),
                             Privilege(op.fetch().user()));
    case Op::kWriteEntry: {
      const WriteEntry& w = op.write_entry();
      return absl::StrFormat(
          "write_entry table gfn 0x%x index %d (gpa 0x%x) := 0x%x",
          w.table_gfn(), w.index(), EntryAddress(w, mode), EntryValue(w, mode));
    }
    case Op::kPhysWrite:
      return absl::StrFormat("phys_write %d bytes 0x%x at gpa 0x%x",
                             op.phys_write().length(), op.phys_write().value(),
                             op.phys_write().gpa());
    case Op::kInvlpg:
      return absl::StrFormat("invlpg gva 0x%x", op.invlpg().gva());
    case Op::kLoadCr3:
      return absl::StrFormat("load_cr3 0x%x%s", Cr3Value(op.load_cr3()),
                             op.load_cr3().no_flush() ? " (no flush)" : "");
    case Op::kSetControl:
      return absl::StrFormat("set %s := %d",
                             ControlName(op.set_control().bit()),
                             op.set_control().value());
    case Op::kInvpcid: {
      static constexpr const char* kTypes[] = {"address", "single context",
                                               "all contexts with global",
                                               "all contexts"};
      const Invpcid& i = op.invpcid();
      const char* type = kTypes[i.type() % 4];
      return i.type() == 0
                 ? absl::StrFormat("invpcid type 0 (%s) pcid 0x%x gva 0x%x",
                                   type, i.pcid(), i.gva())
                 : absl::StrFormat("invpcid type %d (%s) pcid 0x%x", i.type(),
                                   type, i.pcid());
    }
    case Op::KIND_NOT_SET:
      break;
  }
  return "(empty op)";
}

}  // namespace shadowdiff
