#include "fuzz/case_mutator.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/message.h"
#include "google/protobuf/wire_format_lite.h"
#include "proto/entry_encoding.h"
#include "proto/normalize.h"

namespace shadowdiff {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;

// Entry bits the moves write.
constexpr uint64_t kPageSize = 1 << 7;
constexpr uint64_t kPresentWritableUserAccessed = 0x27;

void InsertOpAt(Case& c, int pos, Op op) {
  *c.add_ops() = std::move(op);
  for (int i = c.ops_size() - 1; i > pos; --i) {
    c.mutable_ops()->SwapElements(i, i - 1);
  }
}

void DeleteOpRange(Case& c, int begin, int end) {
  c.mutable_ops()->DeleteSubrange(begin, end - begin);
}

// What one element of Case.ops takes in the encoded case: its key, its
// length and its body.
size_t EncodedOpSize(const Op& op) {
  const size_t body = op.ByteSizeLong();
  return WireFormatLite::TagSize(Case::kOpsFieldNumber,
                                 WireFormatLite::TYPE_MESSAGE) +
         CodedOutputStream::VarintSize64(body) + body;
}

int RandomPosition(const Case& c, Rng& rng) {
  return static_cast<int>(rng.Below(c.ops_size() + 1));
}

uint64_t RandomGva(const CaseScan& scan, PagingMode mode, Rng& rng) {
  if (!scan.gvas.empty() && !rng.OneIn(4)) {
    return scan.gvas[rng.Below(scan.gvas.size())] | (rng.Below(512) << 3);
  }
  // Built from table indices, so that nearby entries get used.
  if (mode == PAGING_4LEVEL) {
    uint64_t gva = rng.Below(4) << 39 | rng.Below(4) << 30 |
                   rng.Below(8) << 21 | rng.Below(16) << 12;
    if (rng.OneIn(8)) gva |= uint64_t{511} << 39;  // upper half, kernel-like
    return gva;
  }
  return rng.Below(4) << 30 | rng.Below(8) << 22 | rng.Below(16) << 12 |
         (rng.Below(2) << 21);
}

uint64_t RandomGfn(const Case& c, const CaseScan& scan, Rng& rng) {
  if (!scan.table_gfns.empty() && rng.OneIn(3))
    return rng.Pick(scan.table_gfns);
  if (!scan.leaf_gfns.empty() && rng.OneIn(2)) return rng.Pick(scan.leaf_gfns);
  if (c.setup().slots_size() == 0) return rng.Below(64);
  const MemorySlot& slot =
      c.setup().slots(static_cast<int>(rng.Below(c.setup().slots_size())));
  return slot.base_gfn() + rng.Below(slot.pages() + 1);  // +1: just past RAM
}

uint32_t RandomWidth(Rng& rng) { return 1u << rng.Below(4); }

// The bits an entry flip may touch: P, R/W, U/S, A, D, PS, G, NX and a
// reserved bit of the mode.
uint64_t RandomEntryBit(PagingMode mode, Rng& rng) {
  static constexpr std::array<int, 7> kFlags = {0, 1, 2, 5, 6, 7, 8};
  if (rng.OneIn(5)) {
    if (mode == PAGING_32BIT) return uint64_t{1} << (13 + rng.Below(9));
    return uint64_t{1} << (36 + rng.Below(16));
  }
  if (mode != PAGING_32BIT && rng.OneIn(6)) return uint64_t{1} << 63;
  return uint64_t{1} << kFlags[rng.Below(kFlags.size())];
}

uint64_t FrameMask(PagingMode mode) {
  return mode == PAGING_32BIT ? 0xFFFF'F000ull : 0x000F'FFFF'FFFF'F000ull;
}

// A new value for a live entry: one bit flipped, the frame repointed (at a
// table, a data frame, or a large frame), or another live entry's value.
uint64_t MutatedEntry(const CaseScan::Entry& e, const Case& c,
                      const CaseScan& scan, PagingMode mode, Rng& rng) {
  switch (rng.Below(4)) {
    case 0:
    case 1:
      return e.value ^ RandomEntryBit(mode, rng);
    case 2: {
      uint64_t gfn = RandomGfn(c, scan, rng);
      uint64_t value = e.value | 1;
      if (e.level >= 2 && rng.OneIn(3)) {
        const uint64_t large_pages = mode == PAGING_32BIT ? 1024 : 512;
        gfn &= ~(large_pages - 1);
        value |= 1u << 7;
      }
      return (value & ~FrameMask(mode)) | ((gfn << 12) & FrameMask(mode));
    }
    default:
      return rng.Pick(scan.entries).value;
  }
}

// A load or a store of width bytes at gva aligned down to the width.
Op LoadOf(uint64_t gva, uint32_t width, bool user) {
  Op op;
  op.mutable_load()->set_gva(gva & ~uint64_t{width - 1});
  op.mutable_load()->set_width(width);
  op.mutable_load()->set_user(user);
  return op;
}

Op StoreOf(uint64_t gva, uint32_t width, uint64_t value, bool user) {
  Op op;
  op.mutable_store()->set_gva(gva & ~uint64_t{width - 1});
  op.mutable_store()->set_width(width);
  op.mutable_store()->set_value(value);
  op.mutable_store()->set_user(user);
  return op;
}

Op AccessOf(uint64_t gva, Rng& rng) {
  const uint32_t width = RandomWidth(rng);
  switch (rng.Below(3)) {
    case 0:
      return LoadOf(gva, width, rng.OneIn(2));
    case 1: {
      const uint64_t value = rng.Next();
      return StoreOf(gva, width, value, rng.OneIn(2));
    }
    default: {
      Op op;
      op.mutable_fetch()->set_gva(gva);
      op.mutable_fetch()->set_user(rng.OneIn(2));
      return op;
    }
  }
}

// A write_entry op that sets the entry at entry_gpa to raw.
Op RawEntryWrite(uint64_t entry_gpa, uint64_t entry_bytes, uint64_t raw) {
  Op op;
  WriteEntry& w = *op.mutable_write_entry();
  w.set_table_gfn(entry_gpa >> 12);
  w.set_index(static_cast<uint32_t>((entry_gpa & 0xFFF) / entry_bytes));
  w.set_raw(raw);
  return op;
}

// e's value made into one whose meaning `bit` decides: read-only for CR0.WP
// (SDM 4.6.1), bit 63 set for EFER.NXE (PAE and 4-level entries, SDM 4.4.2,
// 4.5), PS set in a 32-bit PDE for CR4.PSE (SDM 4.3). nullopt where the bit
// decides nothing about e.
std::optional<uint64_t> DecidedValue(ControlBit bit, const CaseScan::Entry& e,
                                     PagingMode mode) {
  constexpr uint64_t kWritable = 1 << 1;
  constexpr uint64_t kBit63 = uint64_t{1} << 63;
  switch (bit) {
    case CR0_WP:
      return e.value & ~kWritable;
    case EFER_NXE:
      if (mode == PAGING_32BIT) return std::nullopt;
      return e.value | kBit63;
    case CR4_PSE:
      if (mode != PAGING_32BIT || e.level != 2) return std::nullopt;
      return e.value | kPageSize;
    default:
      return std::nullopt;
  }
}

// An access whose outcome `bit` decides for a gva: a supervisor write for
// CR0.WP (SDM 4.6.1), a load for EFER.NXE (without it the NX bit is reserved,
// SDM 4.4.2, so a mapping through an NX entry must go) and for CR4.PSE (which
// decides whether a PDE maps a 4 MB page, SDM 4.3).
Op AccessDecidedBy(ControlBit bit, uint64_t gva, Rng& rng) {
  const uint32_t width = RandomWidth(rng);
  if (bit == CR0_WP) return StoreOf(gva, width, rng.Next(), /*user=*/false);
  return LoadOf(gva, width, rng.OneIn(2));
}

// Every scalar field of m and of the messages inside it.
void CollectScalars(
    Message& m, std::vector<std::pair<Message*, const FieldDescriptor*>>& out) {
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->is_repeated()) continue;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      CollectScalars(*r->MutableMessage(&m, f), out);
    } else {
      out.emplace_back(&m, f);
    }
  }
  // Unset fields are worth setting too: take the first few declared ones.
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (!f->is_repeated() &&
        f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE &&
        !f->containing_oneof() && !r->HasField(m, f)) {
      out.emplace_back(&m, f);
    }
  }
}

}  // namespace

uint64_t CaseMutator::MutateScalar(uint64_t value, Rng& rng) {
  switch (rng.Below(4)) {
    case 0:
      return value ^ (uint64_t{1} << rng.Below(64));
    case 1:
      return value + rng.Below(16) - 8;
    default: {
      std::array<uint8_t, 8> bytes;
      std::memcpy(bytes.data(), &value, 8);
      const size_t size = byte_mutator_(bytes.data(), 8, 8);
      uint64_t out = 0;
      std::memcpy(&out, bytes.data(), std::min<size_t>(size, 8));
      return out;
    }
  }
}

bool CaseMutator::InsertRandomOp(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  const PagingMode mode = c.setup().mode();
  Op op;
  switch (rng.Below(10)) {
    case 0:
    case 1:
    case 2:
    case 3:
      op = AccessOf(RandomGva(scan, mode, rng), rng);
      break;
    case 4:
    case 5: {
      WriteEntry& w = *op.mutable_write_entry();
      w.set_table_gfn(RandomGfn(c, scan, rng));
      w.set_index(static_cast<uint32_t>(rng.Below(EntriesPerTable(mode))));
      EntryBits& b = *w.mutable_bits();
      b.set_present(!rng.OneIn(8));
      b.set_writable(rng.OneIn(2));
      b.set_user(rng.OneIn(2));
      b.set_accessed(rng.OneIn(2));
      b.set_dirty(rng.OneIn(2));
      b.set_page_size(rng.OneIn(6));
      b.set_nx(rng.OneIn(6));
      b.set_target_gfn(RandomGfn(c, scan, rng));
      break;
    }
    case 6: {
      PhysWrite& p = *op.mutable_phys_write();
      p.set_gpa(RandomGfn(c, scan, rng) << 12 | rng.Below(4096));
      p.set_length(1 + static_cast<uint32_t>(rng.Below(8)));
      p.set_value(rng.Next());
      break;
    }
    case 7:
      if (rng.OneIn(3)) {
        Invpcid& i = *op.mutable_invpcid();
        i.set_type(static_cast<uint32_t>(rng.Below(4)));
        i.set_pcid(rng.OneIn(2) ? scan.state.cr3 & 0xFFF
                                : static_cast<uint32_t>(rng.Below(4096)));
        i.set_gva(RandomGva(scan, mode, rng));
      } else {
        op.mutable_invlpg()->set_gva(RandomGva(scan, mode, rng));
      }
      break;
    case 8: {
      Cr3& cr3 = *op.mutable_load_cr3();
      const uint64_t value = scan.cr3s.empty() ? RandomGfn(c, scan, rng) << 12
                                               : rng.Pick(scan.cr3s);
      cr3.set_gfn(value >> 12);
      cr3.set_low_bits(value & 0xFFF);
      cr3.set_no_flush(mode == PAGING_4LEVEL && rng.OneIn(4));
      break;
    }
    default:
      op.mutable_set_control()->set_bit(
          static_cast<ControlBit>(rng.Below(ControlBit_ARRAYSIZE)));
      op.mutable_set_control()->set_value(rng.OneIn(2));
      break;
  }
  InsertOpAt(c, pos, std::move(op));
  return true;
}

bool CaseMutator::DeleteOps(Case& c, Rng& rng) {
  if (c.ops_size() == 0) return false;
  const int begin = static_cast<int>(rng.Below(c.ops_size()));
  const int max_run = std::min(c.ops_size() - begin, 8);
  const int run = rng.OneIn(2) ? 1 : 1 + static_cast<int>(rng.Below(max_run));
  DeleteOpRange(c, begin, begin + run);
  return true;
}

bool CaseMutator::DuplicateOp(Case& c, Rng& rng) {
  if (c.ops_size() == 0) return false;
  Op copy = c.ops(static_cast<int>(rng.Below(c.ops_size())));
  InsertOpAt(c, RandomPosition(c, rng), std::move(copy));
  return true;
}

bool CaseMutator::SwapOps(Case& c, Rng& rng) {
  if (c.ops_size() < 2) return false;
  c.mutable_ops()->SwapElements(static_cast<int>(rng.Below(c.ops_size())),
                                static_cast<int>(rng.Below(c.ops_size())));
  return true;
}

bool CaseMutator::MoveOp(Case& c, Rng& rng) {
  if (c.ops_size() < 2) return false;
  const int from = static_cast<int>(rng.Below(c.ops_size()));
  Op op = c.ops(from);
  DeleteOpRange(c, from, from + 1);
  InsertOpAt(c, RandomPosition(c, rng), std::move(op));
  return true;
}

bool CaseMutator::ChangeField(Case& c, Rng& rng) {
  Message* target = c.mutable_setup();
  if (c.ops_size() > 0 && !rng.OneIn(8)) {
    target = c.mutable_ops(static_cast<int>(rng.Below(c.ops_size())));
  } else if (c.setup().entries_size() > 0 && rng.OneIn(2)) {
    target = c.mutable_setup()->mutable_entries(
        static_cast<int>(rng.Below(c.setup().entries_size())));
  }
  std::vector<std::pair<Message*, const FieldDescriptor*>> scalars;
  CollectScalars(*target, scalars);
  if (scalars.empty()) return false;
  auto [m, f] = scalars[rng.Below(scalars.size())];
  const google::protobuf::Reflection* r = m->GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      r->SetBool(m, f, !r->GetBool(*m, f));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      r->SetEnumValue(
          m, f, static_cast<int>(rng.Below(f->enum_type()->value_count())));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      r->SetUInt32(
          m, f, static_cast<uint32_t>(MutateScalar(r->GetUInt32(*m, f), rng)));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      r->SetUInt64(m, f, MutateScalar(r->GetUInt64(*m, f), rng));
      break;
    default:
      return false;
  }
  return true;
}

bool CaseMutator::AimTableWrite(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  if (scan.entries.empty()) return false;
  const PagingMode mode = c.setup().mode();
  const uint64_t entry_bytes = EntryBytes(mode);
  const CaseScan::Entry& e = rng.Pick(scan.entries);
  const uint64_t value = MutatedEntry(e, c, scan, mode, rng);

  Op op;
  const uint64_t choice = rng.Below(20);
  std::vector<uint64_t> alias_gvas;
  for (const CaseScan::Alias& a : scan.aliases) {
    if (a.table_gfn == e.gpa >> 12) alias_gvas.push_back(a.gva);
  }
  if (choice < 4 && !alias_gvas.empty()) {
    // The guest edits its own table through a store.
    Store& s = *op.mutable_store();
    s.set_gva((rng.Pick(alias_gvas) & ~uint64_t{0xFFF}) | (e.gpa & 0xFFF));
    s.set_width(static_cast<uint32_t>(entry_bytes));
    s.set_value(value);
    s.set_user(rng.OneIn(4));
  } else if (choice < 7) {
    // Part of the entry: the low or the high bytes of the new value.
    const uint64_t length = 1 + rng.Below(entry_bytes - 1);
    const uint64_t offset = rng.OneIn(2) ? 0 : entry_bytes - length;
    PhysWrite& p = *op.mutable_phys_write();
    p.set_gpa(e.gpa + offset);
    p.set_length(static_cast<uint32_t>(length));
    p.set_value(value >> (8 * offset));
  } else if (choice < 10) {
    // Misaligned, spanning this entry and the next one (or the previous one
    // at the end of the page).
    const uint64_t shift = 1 + rng.Below(entry_bytes - 1);
    PhysWrite& p = *op.mutable_phys_write();
    const bool forward = (e.gpa & 0xFFF) + shift + entry_bytes <= 4096;
    p.set_gpa(forward ? e.gpa + shift : e.gpa - shift);
    p.set_length(static_cast<uint32_t>(entry_bytes));
    p.set_value(forward ? value >> (8 * shift) : value << (8 * shift));
  } else {
    op = RawEntryWrite(e.gpa, entry_bytes, value);
  }
  InsertOpAt(c, pos, std::move(op));
  // Most writes only show when something uses the entry afterwards.
  if (!rng.OneIn(3)) InsertOpAt(c, pos + 1, AccessOf(e.gva, rng));
  return true;
}

bool CaseMutator::RecycleDataPageAsTable(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  if (scan.writable_pages.empty()) return false;
  const CaseScan::WritablePage& data = rng.Pick(scan.writable_pages);
  const PagingMode mode = c.setup().mode();
  const uint64_t region =
      mode == PAGING_32BIT ? uint64_t{4} << 20 : uint64_t{2} << 20;
  // A directory entry of another region: repointing the one that maps the
  // data page itself would move the data page too.
  std::vector<const CaseScan::Entry*> directories;
  for (const CaseScan::Entry& e : scan.entries) {
    if (e.level == 2 && (e.gva ^ data.gva) >= region) directories.push_back(&e);
  }
  if (directories.empty()) return false;
  const CaseScan::Entry& directory = *rng.Pick(directories);
  const uint64_t entry_bytes = EntryBytes(mode);
  const uint64_t index = rng.Below(4096 / entry_bytes);
  const uint64_t through_table = (directory.gva & ~(region - 1)) + index * 4096;
  const uint64_t pte =
      (RandomGfn(c, scan, rng) << 12) | kPresentWritableUserAccessed;
  // What the guest changes in the entry: where it points, or a right.
  constexpr std::array<uint64_t, 4> kChanges = {0x1, 0x2, 0x4, 0x1000};
  auto store_entry = [&](uint64_t value) {
    Op op;
    Store& s = *op.mutable_store();
    s.set_gva((data.gva & ~uint64_t{0xFFF}) | (index * entry_bytes));
    s.set_width(static_cast<uint32_t>(entry_bytes));
    s.set_value(value);
    return op;
  };
  Op directory_write =
      RawEntryWrite(directory.gpa, entry_bytes,
                    (data.gfn << 12) | kPresentWritableUserAccessed);
  const Op walk_through_table = LoadOf(through_table, 1, /*user=*/false);
  // A store while the page is data (the host may map it writable), the page
  // becomes a table and is walked, then the entry changes through the old
  // mapping and is used again.
  int at = pos;
  InsertOpAt(c, at++, store_entry(pte));
  InsertOpAt(c, at++, std::move(directory_write));
  InsertOpAt(c, at++, walk_through_table);
  InsertOpAt(c, at++, store_entry(pte ^ kChanges[rng.Below(kChanges.size())]));
  InsertOpAt(c, at, AccessOf(through_table, rng));
  return true;
}

bool CaseMutator::InsertFlushOrSwitch(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  Op op;
  if (rng.OneIn(2) && !scan.gvas.empty()) {
    op.mutable_invlpg()->set_gva(rng.Pick(scan.gvas));
  } else {
    uint64_t cr3 = scan.cr3s.empty() ? 0 : rng.Pick(scan.cr3s);
    if (rng.OneIn(4) && !scan.table_gfns.empty()) {
      cr3 = rng.Pick(scan.table_gfns) << 12;  // a table as a new root
    }
    op.mutable_load_cr3()->set_gfn(cr3 >> 12);
    op.mutable_load_cr3()->set_low_bits(cr3 & 0xFFF);
  }
  InsertOpAt(c, pos, std::move(op));
  return true;
}

bool CaseMutator::ToggleControl(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  Op toggle;
  SetControl& s = *toggle.mutable_set_control();
  switch (rng.Below(3)) {
    case 0:
      s.set_bit(CR0_WP);
      s.set_value(!scan.state.cr0_wp);
      break;
    case 1:
      s.set_bit(EFER_NXE);
      s.set_value(!scan.state.efer_nxe);
      break;
    default:
      s.set_bit(CR4_PSE);
      s.set_value(!scan.state.cr4_pse);
      break;
  }
  if (scan.gvas.empty() || rng.OneIn(2)) {
    InsertOpAt(c, pos, std::move(toggle));
    return true;
  }
  // There and back: shadows the bit decides are built under the other value,
  // then used under this one again. An MMU that keeps them across the change
  // (the bit left out of the role) maps what the guest may not reach. The
  // gva goes through an entry the bit decides: one the case has, or one the
  // move makes.
  const PagingMode mode = c.setup().mode();
  std::vector<const CaseScan::Entry*> decided;
  std::vector<const CaseScan::Entry*> could_be_decided;
  for (const CaseScan::Entry& e : scan.entries) {
    constexpr uint64_t kPresent = 1;
    const std::optional<uint64_t> value = DecidedValue(s.bit(), e, mode);
    if ((e.value & kPresent) == 0 || !value.has_value()) continue;
    (*value == e.value ? decided : could_be_decided).push_back(&e);
  }
  int at = pos;
  uint64_t gva = rng.Pick(scan.gvas);
  if (!decided.empty() && !rng.OneIn(4)) {
    gva = rng.Pick(decided)->gva;
  } else if (!could_be_decided.empty() && rng.OneIn(2)) {
    const CaseScan::Entry& e = *rng.Pick(could_be_decided);
    InsertOpAt(c, at++,
               RawEntryWrite(e.gpa, EntryBytes(mode),
                             *DecidedValue(s.bit(), e, mode)));
    gva = e.gva;
  }
  const Op access = AccessDecidedBy(s.bit(), gva, rng);
  Op toggle_back = toggle;
  toggle_back.mutable_set_control()->set_value(!s.value());
  InsertOpAt(c, at++, std::move(toggle));
  InsertOpAt(c, at++, access);
  InsertOpAt(c, at++, std::move(toggle_back));
  InsertOpAt(c, at, access);
  return true;
}

bool CaseMutator::ChangeMode(Case& c, Rng& rng) {
  const int mode = (c.setup().mode() + 1 + static_cast<int>(rng.Below(2))) % 3;
  c.mutable_setup()->set_mode(static_cast<PagingMode>(mode));
  return true;
}

namespace {

Op Cr3Load(uint64_t cr3, bool no_flush) {
  Op op;
  op.mutable_load_cr3()->set_gfn(cr3 >> 12);
  op.mutable_load_cr3()->set_low_bits(cr3 & 0xFFF);
  op.mutable_load_cr3()->set_no_flush(no_flush);
  return op;
}

Op ControlTo(ControlBit bit, bool value) {
  Op op;
  op.mutable_set_control()->set_bit(bit);
  op.mutable_set_control()->set_value(value);
  return op;
}

// One of the operations that invalidate (SDM 4.10.4.1), aimed at gva or
// not: INVLPG, MOV to CR3 (with the no-flush bit where PCIDs are on), INVPCID
// of each type, or a CR4.PGE change.
Op Invalidation(uint64_t gva, const model::PagingState& state, Rng& rng) {
  Op op;
  const uint32_t pcid = state.cr4_pcide ? state.cr3 & 0xFFF : 0;
  switch (rng.Below(4)) {
    case 0:
      op.mutable_invlpg()->set_gva(rng.OneIn(4) ? gva ^ 0x1000 : gva);
      return op;
    case 1:
      return Cr3Load(state.cr3, state.cr4_pcide && rng.OneIn(2));
    case 2: {
      Invpcid& i = *op.mutable_invpcid();
      i.set_type(static_cast<uint32_t>(rng.Below(4)));
      i.set_pcid(rng.OneIn(4) ? (pcid + 1) % 4096 : pcid);
      i.set_gva(gva);
      return op;
    }
    default:
      return ControlTo(CR4_PGE, !state.cr4_pge);
  }
}

// The gvas one table of `level` spans (2 or 4 MB for a PT).
uint64_t TableSpan(PagingMode mode, int level) {
  const int index_bits = mode == PAGING_32BIT ? 10 : 9;
  return uint64_t{1} << (12 + index_bits * level);
}

// A gva through which a store reaches the PT holding `leaf` (a level-1
// entry): an alias the case has, or one made at position *at by pointing an
// index of the PT that no live entry uses at the PT itself.
uint64_t AliasOfTable(Case& c, const CaseScan& scan,
                      const CaseScan::Entry& leaf, int* at, Rng& rng) {
  const uint64_t table_gfn = leaf.gpa >> 12;
  std::vector<uint64_t> aliases;
  for (const CaseScan::Alias& a : scan.aliases) {
    if (a.table_gfn == table_gfn) aliases.push_back(a.gva & ~uint64_t{0xFFF});
  }
  if (!aliases.empty() && !rng.OneIn(4)) return rng.Pick(aliases);
  const PagingMode mode = c.setup().mode();
  const uint64_t entry_bytes = EntryBytes(mode);
  const uint64_t entries = 4096 / entry_bytes;
  uint64_t index = rng.Below(entries);
  for (int tries = 0; tries < 8; ++tries) {
    const uint64_t gpa = (table_gfn << 12) + index * entry_bytes;
    const bool used =
        std::any_of(scan.entries.begin(), scan.entries.end(),
                    [&](const CaseScan::Entry& e) { return e.gpa == gpa; });
    if (!used) break;
    index = rng.Below(entries);
  }
  InsertOpAt(c, (*at)++,
             RawEntryWrite((table_gfn << 12) + index * entry_bytes, entry_bytes,
                           (table_gfn << 12) | kPresentWritableUserAccessed));
  return (leaf.gva & ~(TableSpan(mode, 1) - 1)) + index * 4096;
}

// A frame of the first slot that holds no live table, or nullopt when the
// one drawn does.
std::optional<uint64_t> FreshFrame(const Case& c, const CaseScan& scan,
                                   Rng& rng) {
  if (c.setup().slots_size() == 0) return std::nullopt;
  const MemorySlot& slot = c.setup().slots(0);
  const uint64_t gfn = slot.base_gfn() + rng.Below(slot.pages());
  if (std::find(scan.table_gfns.begin(), scan.table_gfns.end(), gfn) !=
      scan.table_gfns.end()) {
    return std::nullopt;
  }
  return gfn;
}

// The live entries of the given level, or of the current root table.
std::vector<const CaseScan::Entry*> EntriesAtLevel(const CaseScan& scan,
                                                   int level) {
  std::vector<const CaseScan::Entry*> entries;
  for (const CaseScan::Entry& e : scan.entries) {
    if (e.level == level) entries.push_back(&e);
  }
  return entries;
}
std::vector<const CaseScan::Entry*> RootEntries(const CaseScan& scan,
                                                PagingMode mode) {
  const int top = mode == PAGING_4LEVEL ? 4 : mode == PAGING_PAE ? 3 : 2;
  std::vector<const CaseScan::Entry*> entries;
  for (const CaseScan::Entry* e : EntriesAtLevel(scan, top)) {
    if (e->gpa >> 12 == scan.state.cr3 >> 12) entries.push_back(e);
  }
  return entries;
}

// Writes at position *at a copy of the current root table's live entries
// into frame root_gfn, at the same offsets (a PAE PDPT keeps its place in
// the page, so the same CR3 low bits find it).
void CopyRoot(Case& c, const CaseScan& scan, uint64_t root_gfn, int* at) {
  const PagingMode mode = c.setup().mode();
  for (const CaseScan::Entry* e : RootEntries(scan, mode)) {
    InsertOpAt(c, (*at)++,
               RawEntryWrite((root_gfn << 12) | (e->gpa & 0xFFF),
                             EntryBytes(mode), e->value));
  }
}

// A store of `value` to the entry at entry_gpa through alias, the guest's
// own mapping of the entry's table.
Op StoreThroughAlias(uint64_t alias, uint64_t entry_gpa, PagingMode mode,
                     uint64_t value) {
  return StoreOf(alias | (entry_gpa & 0xFFF),
                 static_cast<uint32_t>(EntryBytes(mode)), value, false);
}

std::vector<const CaseScan::Entry*> LeavesOf(const CaseScan& scan,
                                             uint64_t table_gfn) {
  std::vector<const CaseScan::Entry*> leaves;
  for (const CaseScan::Entry& e : scan.entries) {
    if (e.level == 1 && e.gpa >> 12 == table_gfn) leaves.push_back(&e);
  }
  return leaves;
}

}  // namespace

// An entry in use changes and is used with no invalidation in between (a TLB
// may still hold the old translation), then after one (it may not).
bool CaseMutator::StaleAccess(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  if (scan.entries.empty()) return false;
  const PagingMode mode = c.setup().mode();
  const CaseScan::Entry& e = rng.Pick(scan.entries);
  int at = pos;
  InsertOpAt(c, at++, AccessOf(e.gva, rng));
  InsertOpAt(c, at++,
             RawEntryWrite(e.gpa, EntryBytes(mode),
                           MutatedEntry(e, c, scan, mode, rng)));
  InsertOpAt(c, at++, AccessOf(e.gva, rng));
  InsertOpAt(c, at++, Invalidation(e.gva, scan.state, rng));
  InsertOpAt(c, at, AccessOf(e.gva, rng));
  return true;
}

// An invalidation of one kind, covering a gva in use or not, and the gva
// used again.
bool CaseMutator::InvalidateSelectively(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  if (scan.gvas.empty()) return false;
  const uint64_t gva = rng.Pick(scan.gvas);
  InsertOpAt(c, pos, Invalidation(gva, scan.state, rng));
  InsertOpAt(c, pos + 1, AccessOf(gva, rng));
  return true;
}

// 4-level only: turns PCIDs on (CR3[11:0] cleared first, SDM 4.10.1), or
// moves to another PCID, of this address space or a new one, with or
// without the no-flush bit, then accesses.
bool CaseMutator::SwitchPcid(Case& c, Rng& rng) {
  if (c.setup().mode() != PAGING_4LEVEL) return false;
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  int at = pos;
  const uint64_t table = scan.state.cr3 & ~uint64_t{0xFFF};
  uint64_t pcid = scan.state.cr3 & 0xFFF;
  if (!scan.state.cr4_pcide) {
    InsertOpAt(c, at++, Cr3Load(table, false));
    InsertOpAt(c, at++, ControlTo(CR4_PCIDE, true));
    pcid = 0;
    if (rng.OneIn(2)) {
      if (!scan.gvas.empty()) {
        InsertOpAt(c, at, AccessOf(rng.Pick(scan.gvas), rng));
      }
      return true;
    }
  }
  if (const std::optional<uint64_t> copy = FreshFrame(c, scan, rng);
      copy.has_value() && !scan.gvas.empty() && rng.OneIn(2)) {
    // Another address space under another PCID: the current root's copy
    // with one entry changed, entered with or without the no-flush bit. A
    // gva the old one translates is used before (so a TLB holds it) and
    // after: the new PCID never cached it.
    CopyRoot(c, scan, *copy, &at);
    const std::vector<const CaseScan::Entry*> top =
        RootEntries(scan, PAGING_4LEVEL);
    uint64_t gva = rng.Pick(scan.gvas);
    if (!top.empty()) {
      const CaseScan::Entry& changed = *rng.Pick(top);
      InsertOpAt(
          c, at++,
          RawEntryWrite((*copy << 12) | (changed.gpa & 0xFFF), 8,
                        MutatedEntry(changed, c, scan, PAGING_4LEVEL, rng)));
      gva = changed.gva;
    }
    InsertOpAt(c, at++, AccessOf(gva, rng));
    const uint64_t other_pcid = (pcid + 1 + rng.Below(3)) % 4;
    InsertOpAt(c, at++, Cr3Load((*copy << 12) | other_pcid, rng.OneIn(2)));
    InsertOpAt(c, at, AccessOf(gva, rng));
    return true;
  }
  const uint64_t root =
      scan.cr3s.empty() ? table : rng.Pick(scan.cr3s) & ~uint64_t{0xFFF};
  InsertOpAt(c, at++, Cr3Load(root | rng.Below(4), rng.OneIn(2)));
  if (!scan.gvas.empty()) InsertOpAt(c, at, AccessOf(rng.Pick(scan.gvas), rng));
  return true;
}

// A leaf in use becomes global (G=1, with CR4.PGE turned on if it is off):
// its translation then survives MOV to CR3 (SDM 4.10.2.4).
bool CaseMutator::MakeGlobal(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  constexpr uint64_t kGlobal = 1 << 8;
  std::vector<const CaseScan::Entry*> leaves;
  for (const CaseScan::Entry& e : scan.entries) {
    if (e.level == 1 || (e.value & kPageSize) != 0) leaves.push_back(&e);
  }
  if (leaves.empty()) return false;
  const CaseScan::Entry& leaf = *rng.Pick(leaves);
  int at = pos;
  if (!scan.state.cr4_pge) InsertOpAt(c, at++, ControlTo(CR4_PGE, true));
  InsertOpAt(c, at++,
             RawEntryWrite(leaf.gpa, EntryBytes(c.setup().mode()),
                           leaf.value | kGlobal));
  InsertOpAt(c, at, AccessOf(leaf.gva, rng));
  return true;
}

// Weights in hundredths, most to the moves aimed at live entries.
// A PT in use is rewritten by the guest through its own mapping: one to
// three of its live entries change, each used before any invalidation (the
// old translation may still be held), then some are invalidated and all
// used again.
bool CaseMutator::UnsyncAndRewrite(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  const std::vector<const CaseScan::Entry*> ptes = EntriesAtLevel(scan, 1);
  if (ptes.empty()) return false;
  const PagingMode mode = c.setup().mode();
  const CaseScan::Entry& first = *rng.Pick(ptes);
  int at = pos;
  const uint64_t alias = AliasOfTable(c, scan, first, &at, rng);
  const std::vector<const CaseScan::Entry*> siblings =
      LeavesOf(scan, first.gpa >> 12);
  std::vector<const CaseScan::Entry*> rewritten = {&first};
  for (int n = static_cast<int>(rng.Below(3)); n > 0; --n) {
    rewritten.push_back(rng.Pick(siblings));
  }
  InsertOpAt(c, at++, AccessOf(first.gva, rng));
  for (const CaseScan::Entry* e : rewritten) {
    InsertOpAt(c, at++,
               StoreThroughAlias(alias, e->gpa, mode,
                                 MutatedEntry(*e, c, scan, mode, rng)));
    InsertOpAt(c, at++, AccessOf(e->gva, rng));
  }
  for (const CaseScan::Entry* e : rewritten) {
    if (rng.OneIn(2))
      InsertOpAt(c, at++, Invalidation(e->gva, scan.state, rng));
  }
  for (const CaseScan::Entry* e : rewritten) {
    InsertOpAt(c, at++, AccessOf(e->gva, rng));
  }
  return true;
}

// A PT in use gets a second directory entry, in the same directory: the
// gvas it opens were never translated, so they must see the PT as it is
// now, though the guest may have rewritten it (half the time, just before)
// without invalidating anything.
bool CaseMutator::LinkTableTwice(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  const PagingMode mode = c.setup().mode();
  const uint64_t region = TableSpan(mode, 1);
  std::vector<std::pair<const CaseScan::Entry*, const CaseScan::Entry*>>
      links;  // (PDE, a leaf under it)
  for (const CaseScan::Entry& d : scan.entries) {
    if (d.level != 2 || (d.value & kPageSize) != 0) continue;
    for (const CaseScan::Entry& e : scan.entries) {
      if (e.level == 1 && (e.gva ^ d.gva) < region) links.push_back({&d, &e});
    }
  }
  if (links.empty()) return false;
  const auto [pde, leaf] = rng.Pick(links);
  int at = pos;
  if (rng.OneIn(2)) {
    const uint64_t alias = AliasOfTable(c, scan, *leaf, &at, rng);
    InsertOpAt(c, at++,
               StoreThroughAlias(alias, leaf->gpa, mode,
                                 MutatedEntry(*leaf, c, scan, mode, rng)));
  }
  const uint64_t entry_bytes = EntryBytes(mode);
  const uint64_t index = rng.Below(4096 / entry_bytes);
  InsertOpAt(c, at++,
             RawEntryWrite((pde->gpa & ~uint64_t{0xFFF}) + index * entry_bytes,
                           entry_bytes, pde->value));
  const uint64_t directory_base = pde->gva & ~(TableSpan(mode, 2) - 1);
  InsertOpAt(
      c, at,
      AccessOf(directory_base + index * region + (leaf->gva & (region - 1)),
               rng));
  return true;
}

// A second root with the current root's entries: the guest switches to it,
// back, rewrites a PT both reach (through its own mapping, with no
// invalidation but the CR3 loads), and switches to the now cached second
// root again.
bool CaseMutator::SwitchCachedRoot(Case& c, Rng& rng) {
  const int pos = RandomPosition(c, rng);
  const CaseScan scan = ScanCase(c, pos);
  const PagingMode mode = c.setup().mode();
  const std::vector<const CaseScan::Entry*> ptes = EntriesAtLevel(scan, 1);
  const std::optional<uint64_t> root_gfn = FreshFrame(c, scan, rng);
  if (ptes.empty() || !root_gfn.has_value()) return false;
  int at = pos;
  CopyRoot(c, scan, *root_gfn, &at);
  const CaseScan::Entry& leaf = *rng.Pick(ptes);
  const uint64_t low_bits = scan.state.cr3 & 0xFFF;
  InsertOpAt(c, at++, Cr3Load((*root_gfn << 12) | low_bits, false));
  InsertOpAt(c, at++, AccessOf(leaf.gva, rng));
  InsertOpAt(c, at++, Cr3Load(scan.state.cr3, false));
  InsertOpAt(c, at++, AccessOf(leaf.gva, rng));
  const uint64_t alias = AliasOfTable(c, scan, leaf, &at, rng);
  InsertOpAt(c, at++,
             StoreThroughAlias(alias, leaf.gpa, mode,
                               MutatedEntry(leaf, c, scan, mode, rng)));
  InsertOpAt(c, at++, Cr3Load((*root_gfn << 12) | low_bits, false));
  InsertOpAt(c, at, AccessOf(leaf.gva, rng));
  return true;
}

constexpr CaseMutator::Move kMoves[] = {
    {"AimTableWrite", 30, &CaseMutator::AimTableWrite},
    {"RecycleDataPageAsTable", 5, &CaseMutator::RecycleDataPageAsTable},
    {"StaleAccess", 6, &CaseMutator::StaleAccess},
    {"InvalidateSelectively", 5, &CaseMutator::InvalidateSelectively},
    {"SwitchPcid", 2, &CaseMutator::SwitchPcid},
    {"MakeGlobal", 2, &CaseMutator::MakeGlobal},
    {"UnsyncAndRewrite", 6, &CaseMutator::UnsyncAndRewrite},
    {"LinkTableTwice", 3, &CaseMutator::LinkTableTwice},
    {"SwitchCachedRoot", 3, &CaseMutator::SwitchCachedRoot},
    {"InsertRandomOp", 6, &CaseMutator::InsertRandomOp},
    {"DeleteOps", 7, &CaseMutator::DeleteOps},
    {"DuplicateOp", 4, &CaseMutator::DuplicateOp},
    {"SwapOps", 3, &CaseMutator::SwapOps},
    {"MoveOp", 3, &CaseMutator::MoveOp},
    {"ChangeField", 14, &CaseMutator::ChangeField},
    {"InsertFlushOrSwitch", 8, &CaseMutator::InsertFlushOrSwitch},
    {"ToggleControl", 4, &CaseMutator::ToggleControl},
    {"ChangeMode", 1, &CaseMutator::ChangeMode},
};

std::span<const CaseMutator::Move> CaseMutator::Moves() { return kMoves; }

// A move drawn by weight; one that declines (nothing in the case for it) is
// recorded nowhere and another is drawn, a few times at most.
void CaseMutator::MutateOnce(Case& c, Rng& rng) {
  int total = 0;
  for (const Move& move : kMoves) total += move.weight;
  for (int attempt = 0; attempt < 8; ++attempt) {
    int roll = static_cast<int>(rng.Below(total));
    const Move* move = kMoves;
    while (roll >= move->weight) roll -= (move++)->weight;
    if ((this->*move->apply)(c, rng)) {
      last_moves_.push_back(move->name);
      return;
    }
  }
}

void CaseMutator::Shrink(Case& c, Rng& rng, size_t max_size) {
  // Sized once, then by what each deleted op took: sizing the whole case
  // after every deletion made a deep shrink quadratic. Setup deletions come
  // only when no op is left, and are few under max_len.
  size_t size = c.ByteSizeLong();
  while (size > max_size) {
    if (c.ops_size() > 0) {
      const int at = static_cast<int>(rng.Below(c.ops_size()));
      size -= EncodedOpSize(c.ops(at));
      DeleteOpRange(c, at, at + 1);
      continue;
    }
    if (c.setup().bytes_size() > 0) {
      c.mutable_setup()->mutable_bytes()->RemoveLast();
    } else if (c.setup().entries_size() > 0) {
      const int at = static_cast<int>(rng.Below(c.setup().entries_size()));
      c.mutable_setup()->mutable_entries()->DeleteSubrange(at, 1);
    } else {
      c.Clear();
    }
    size = c.ByteSizeLong();
  }
}

void CaseMutator::Mutate(Case& c, uint32_t seed, size_t max_size) {
  Rng rng(seed);
  last_moves_.clear();
  const size_t size = c.ByteSizeLong();
  if (size > max_size) {
    Shrink(c, rng, max_size);
    return;
  }
  // Room for what the moves insert (a page-table-aware move adds up to five
  // ops), made first: shrinking afterwards would delete what was inserted as
  // readily as the rest.
  constexpr size_t kRoomForMoves = 160;
  if (max_size > 2 * kRoomForMoves && size > max_size - kRoomForMoves) {
    Shrink(c, rng, max_size - kRoomForMoves);
  }
  const int moves = 1 + static_cast<int>(rng.OneIn(3) ? rng.Below(4) : 0);
  for (int i = 0; i < moves; ++i) {
    MutateOnce(c, rng);
    // The next move scans the case with the reference, which takes only
    // normalized cases.
    Normalize(c);
  }
  Shrink(c, rng, max_size);
}

void CaseMutator::CrossOver(const Case& a, const Case& b, uint32_t seed,
                            size_t max_size, Case& out) {
  Rng rng(seed);
  last_moves_.assign(1, "CrossOver");
  out = a;
  if (rng.OneIn(8)) *out.mutable_setup() = b.setup();
  if (b.ops_size() > 0) {
    const int begin = static_cast<int>(rng.Below(b.ops_size()));
    const int run =
        1 + static_cast<int>(rng.Below(std::min(b.ops_size() - begin, 16)));
    int pos = RandomPosition(out, rng);
    for (int i = begin; i < begin + run; ++i) InsertOpAt(out, pos++, b.ops(i));
  }
  Normalize(out);
  Shrink(out, rng, max_size);
}

}  // namespace shadowdiff
