#ifndef SHADOWDIFF_PROTO_ENTRY_ENCODING_H_
#define SHADOWDIFF_PROTO_ENTRY_ENCODING_H_

#include <cstdint>

#include "proto/case.pb.h"

namespace shadowdiff {

// Size in bytes of one paging entry in `mode` (4 or 8).
int EntryBytes(PagingMode mode);

// Entries in one paging table in `mode` (1024 or 512).
int EntriesPerTable(PagingMode mode);

// The value a WriteEntry stores, at the mode's entry width (see EntryBits).
uint64_t EntryValue(const WriteEntry& write, PagingMode mode);

// The guest-physical address a WriteEntry writes.
uint64_t EntryAddress(const WriteEntry& write, PagingMode mode);

// Bit 63 of a MOV to CR3 source: with CR4.PCIDE=1, invalidate nothing.
inline constexpr uint64_t kCr3NoFlush = uint64_t{1} << 63;

// The MOV to CR3 source a Cr3 message denotes (no_flush as bit 63).
uint64_t Cr3Value(const Cr3& cr3);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_PROTO_ENTRY_ENCODING_H_
