#include "proto/normalize.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "proto/entry_encoding.h"
#include "proto/limits.h"

namespace shadowdiff {
namespace {

// Values already in [0, n) stay as they are, which keeps every rule idempotent.
uint64_t Wrap(uint64_t v, uint64_t n) { return v % n; }

int WrapEnum(int v, int n) { return ((v % n) + n) % n; }

uint64_t ByteMask(uint32_t bytes) {
  return bytes >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * bytes)) - 1;
}

uint64_t EntryMask(PagingMode mode) { return ByteMask(EntryBytes(mode)); }

uint64_t NormalizeGva(uint64_t gva, PagingMode mode) {
  if (mode != PAGING_4LEVEL) return gva & 0xFFFF'FFFFull;
  // Canonical form: bits 63:48 copy bit 47.
  return static_cast<uint64_t>(static_cast<int64_t>(gva << 16) >> 16);
}

uint32_t NormalizeWidth(uint32_t width) {
  if (width == 1 || width == 2 || width == 4 || width == 8) return width;
  return 1u << (width % 4);
}

uint32_t NormalizeLength(uint32_t length) {
  if (length == 0) return 1;
  return 1 + (length - 1) % 8;
}

void NormalizeCr3(Cr3& cr3, PagingMode mode) {
  cr3.set_gfn(Wrap(cr3.gfn(), mode == PAGING_4LEVEL ? limits::kGfnLimit
                                                    : limits::kCr3GfnLimit32));
  cr3.set_low_bits(cr3.low_bits() % 4096);
  if (mode != PAGING_4LEVEL) cr3.set_no_flush(false);
}

void NormalizeInvpcid(Invpcid& i, PagingMode mode) {
  i.set_type(i.type() % 4);
  i.set_pcid(i.pcid() % 4096);
  i.set_gva(i.type() == 0 ? NormalizeGva(i.gva(), mode) : 0);
}

void NormalizeWriteEntry(WriteEntry& w, PagingMode mode) {
  w.set_table_gfn(Wrap(w.table_gfn(), limits::kGfnLimit));
  w.set_index(w.index() % static_cast<uint32_t>(EntriesPerTable(mode)));
  if (w.value_case() == WriteEntry::kRaw) {
    w.set_raw(w.raw() & EntryMask(mode));
  } else if (w.value_case() == WriteEntry::kBits) {
    EntryBits& b = *w.mutable_bits();
    b.set_target_gfn(Wrap(b.target_gfn(), limits::kTargetGfnLimit));
    b.set_extra(b.extra() & EntryMask(mode));
  }
}

void NormalizePhysWrite(PhysWrite& p) {
  p.set_length(NormalizeLength(p.length()));
  uint64_t gpa = Wrap(p.gpa(), uint64_t{1} << limits::kGuestMaxPhysAddrBits);
  if ((gpa & 0xFFF) + p.length() > 4096) gpa = (gpa | 0xFFF) + 1 - p.length();
  p.set_gpa(gpa);
  p.set_value(p.value() & ByteMask(p.length()));
}

void NormalizeOp(Op& op, PagingMode mode) {
  switch (op.kind_case()) {
    case Op::kStore: {
      Store& s = *op.mutable_store();
      s.set_width(NormalizeWidth(s.width()));
      s.set_gva(NormalizeGva(s.gva(), mode) & ~uint64_t{s.width() - 1});
      s.set_value(s.value() & ByteMask(s.width()));
      break;
    }
    case Op::kLoad: {
      Load& l = *op.mutable_load();
      l.set_width(NormalizeWidth(l.width()));
      l.set_gva(NormalizeGva(l.gva(), mode) & ~uint64_t{l.width() - 1});
      break;
    }
    case Op::kFetch:
      op.mutable_fetch()->set_gva(NormalizeGva(op.fetch().gva(), mode));
      break;
    case Op::kWriteEntry:
      NormalizeWriteEntry(*op.mutable_write_entry(), mode);
      break;
    case Op::kPhysWrite:
      NormalizePhysWrite(*op.mutable_phys_write());
      break;
    case Op::kInvlpg:
      op.mutable_invlpg()->set_gva(NormalizeGva(op.invlpg().gva(), mode));
      break;
    case Op::kLoadCr3:
      NormalizeCr3(*op.mutable_load_cr3(), mode);
      break;
    case Op::kSetControl: {
      SetControl& c = *op.mutable_set_control();
      if (!ControlBit_IsValid(c.bit())) {
        c.set_bit(static_cast<ControlBit>(WrapEnum(c.bit(), 5)));
      }
      break;
    }
    case Op::kInvpcid:
      NormalizeInvpcid(*op.mutable_invpcid(), mode);
      break;
    case Op::KIND_NOT_SET:
      break;
  }
}

bool Overlaps(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len) {
  return a < b + b_len && b < a + a_len;
}

template <typename Field>
void Truncate(Field& field, int max) {
  while (field.size() > max) field.RemoveLast();
}

// In place, the kept slots moved to the front in their order: this runs on
// every fuzzed input.
void NormalizeSlots(Setup& setup) {
  auto& slots = *setup.mutable_slots();
  int kept = 0;
  for (int i = 0; i < slots.size(); ++i) {
    MemorySlot& slot = *slots.Mutable(i);
    if (slot.pages() == 0 || kept == limits::kMaxSlots) continue;
    slot.set_pages(1 + (slot.pages() - 1) % limits::kMaxSlotPages);
    const uint64_t pages = slot.pages();
    slot.set_base_gfn(Wrap(slot.base_gfn(), limits::kGfnLimit - pages + 1));
    const uint64_t host_span =
        limits::kHostFrameLimit - limits::kHostFrameBase - pages + 1;
    if (slot.host_frame() < limits::kHostFrameBase ||
        slot.host_frame() - limits::kHostFrameBase >= host_span) {
      slot.set_host_frame(limits::kHostFrameBase +
                          Wrap(slot.host_frame(), host_span));
    }
    bool overlaps = false;
    for (int k = 0; k < kept; ++k) {
      const MemorySlot& other = slots.Get(k);
      overlaps |=
          Overlaps(slot.base_gfn(), pages, other.base_gfn(), other.pages()) ||
          Overlaps(slot.host_frame(), pages, other.host_frame(), other.pages());
    }
    if (!overlaps) slots.SwapElements(kept++, i);
  }
  Truncate(slots, kept);
}

void NormalizeSetup(Setup& setup) {
  if (!PagingMode_IsValid(setup.mode())) {
    setup.set_mode(static_cast<PagingMode>(WrapEnum(setup.mode(), 3)));
  }
  const PagingMode mode = setup.mode();
  if (mode != PAGING_4LEVEL) {
    setup.set_gbpages(false);
    setup.set_cr4_pcide(false);
  }
  NormalizeSlots(setup);
  if (setup.has_cr3()) {
    NormalizeCr3(*setup.mutable_cr3(), mode);
    setup.mutable_cr3()->set_no_flush(false);
  }
  Truncate(*setup.mutable_entries(), limits::kMaxSetupEntries);
  for (WriteEntry& w : *setup.mutable_entries()) NormalizeWriteEntry(w, mode);
  Truncate(*setup.mutable_bytes(), limits::kMaxSetupBytes);
  for (PhysWrite& p : *setup.mutable_bytes()) NormalizePhysWrite(p);
}

void NormalizeRunConfig(RunConfig& run) {
  for (std::string* s : {run.mutable_mmu(), run.mutable_switches(),
                         run.mutable_baseline_mmu()}) {
    if (s->size() > limits::kMaxRunConfigString) {
      s->resize(limits::kMaxRunConfigString);
    }
  }
  if (!HostTlb_IsValid(run.host_tlb())) run.set_host_tlb(HOST_TLB_TAGGED);
  if (!OracleKind_IsValid(run.oracle())) run.set_oracle(ORACLE_STRICT);
}

}  // namespace

void Normalize(Case& c) {
  if (c.has_run()) NormalizeRunConfig(*c.mutable_run());
  // An absent setup stays absent: it reads as the default one.
  if (c.has_setup()) NormalizeSetup(*c.mutable_setup());
  const PagingMode mode = c.setup().mode();
  auto& ops = *c.mutable_ops();
  ops.erase(std::remove_if(ops.begin(), ops.end(),
                           [](const Op& op) {
                             return op.kind_case() == Op::KIND_NOT_SET;
                           }),
            ops.end());
  Truncate(ops, limits::kMaxOps);
  for (Op& op : ops) NormalizeOp(op, mode);
}

bool IsEmpty(const Case& c) { return c.setup().slots_size() == 0; }

}  // namespace shadowdiff
