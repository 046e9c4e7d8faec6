#include "proto/entry_encoding.h"

namespace shadowdiff {

int EntryBytes(PagingMode mode) { return mode == PAGING_32BIT ? 4 : 8; }

int EntriesPerTable(PagingMode mode) {
  return mode == PAGING_32BIT ? 1024 : 512;
}

namespace {

uint64_t WidthMask(PagingMode mode) {
  return mode == PAGING_32BIT ? 0xFFFF'FFFFull : ~uint64_t{0};
}

// 32-bit 4 MB PDE with PSE-36 (SDM 4.3, table 4-4): gpa bits 31:22 stay in
// place, gpa bits 35:32 move to entry bits 16:13.
uint64_t Pse36Frame(uint64_t target_gfn) {
  const uint64_t gpa = target_gfn << 12;
  return (gpa & 0xFFC0'0000ull) | (((gpa >> 32) & 0xF) << 13);
}

}  // namespace

uint64_t EntryValue(const WriteEntry& write, PagingMode mode) {
  if (write.value_case() != WriteEntry::kBits) {
    return write.raw() & WidthMask(mode);
  }
  const EntryBits& b = write.bits();
  uint64_t v = 0;
  v |= uint64_t{b.present()} << 0;
  v |= uint64_t{b.writable()} << 1;
  v |= uint64_t{b.user()} << 2;
  v |= uint64_t{b.accessed()} << 5;
  v |= uint64_t{b.dirty()} << 6;
  v |= uint64_t{b.page_size()} << 7;
  v |= uint64_t{b.global()} << 8;
  v |= uint64_t{b.nx()} << 63;
  if (mode == PAGING_32BIT && b.page_size()) {
    v |= Pse36Frame(b.target_gfn());
  } else {
    v |= b.target_gfn() << 12;
  }
  v |= b.extra();
  return v & WidthMask(mode);
}

uint64_t EntryAddress(const WriteEntry& write, PagingMode mode) {
  return (write.table_gfn() << 12) +
         uint64_t{write.index()} * static_cast<uint64_t>(EntryBytes(mode));
}

uint64_t Cr3Value(const Cr3& cr3) {
  return (cr3.gfn() << 12) | (cr3.low_bits() & 0xFFF) |
         (cr3.no_flush() ? kCr3NoFlush : 0);
}

}  // namespace shadowdiff
