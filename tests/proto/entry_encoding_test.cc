#include "proto/entry_encoding.h"

#include "gtest/gtest.h"

namespace shadowdiff {
namespace {

TEST(EntryEncoding, StructuredBitsLandWhereTheSdmPutsThem) {
  WriteEntry w;
  w.set_table_gfn(3);
  w.set_index(5);
  EntryBits& b = *w.mutable_bits();
  b.set_present(true);
  b.set_writable(true);
  b.set_user(true);
  b.set_accessed(true);
  b.set_dirty(true);
  b.set_nx(true);
  b.set_target_gfn(0x12345);
  // 0x1 | 0x2 | 0x4 | 0x20 | 0x40 = 0x67; frame 0x12345000; NX bit 63.
  EXPECT_EQ(EntryValue(w, PAGING_4LEVEL), 0x8000'0000'1234'5067u);
  EXPECT_EQ(EntryAddress(w, PAGING_4LEVEL), 0x3028u);
  // 32-bit: 4-byte entries, NX gone.
  EXPECT_EQ(EntryValue(w, PAGING_32BIT), 0x1234'5067u);
  EXPECT_EQ(EntryAddress(w, PAGING_32BIT), 0x3014u);
}

TEST(EntryEncoding, Pse36MovesHighFrameBits) {
  WriteEntry w;
  EntryBits& b = *w.mutable_bits();
  b.set_present(true);
  b.set_page_size(true);
  // gpa 0x3_8040_0000 (4 MB aligned, above 4 GB): bits 31:22 = 0x80400000,
  // bits 35:32 = 0x3 -> entry bits 16:13 = 0x3 << 13 = 0x6000.
  b.set_target_gfn(0x3'8040'0000ull >> 12);
  EXPECT_EQ(EntryValue(w, PAGING_32BIT), 0x8040'6081u);
  // In PAE the same frame is just gfn << 12.
  EXPECT_EQ(EntryValue(w, PAGING_PAE), 0x3'8040'0081u);
}

TEST(EntryEncoding, RawIsMaskedToTheEntryWidth) {
  WriteEntry w;
  w.set_raw(0xFFFF'0000'0000'1003ull);
  EXPECT_EQ(EntryValue(w, PAGING_32BIT), 0x1003u);
  EXPECT_EQ(EntryValue(w, PAGING_PAE), 0xFFFF'0000'0000'1003u);
}

TEST(EntryEncoding, Cr3KeepsLowBits) {
  Cr3 cr3;
  cr3.set_gfn(0x12);
  cr3.set_low_bits(0x3E0);
  EXPECT_EQ(Cr3Value(cr3), 0x123E0u);
}

}  // namespace
}  // namespace shadowdiff
