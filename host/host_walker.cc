#include "host/host_walker.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_memory.h"
#include "host/spte.h"

namespace shadowdiff::host {
namespace {

constexpr int kPaeRootLevel = 3;
constexpr int kPaeRootEntries = 4;
// Like CR3 in PAE mode, the PAE root pointer ignores bits 4:0.
constexpr uint64_t kPaeRootMask =
    ((uint64_t{1} << spte::kHostMaxPhysAddrBits) - 1) & ~uint64_t{0x1F};

int LevelShift(int level) { return 12 + 9 * (level - 1); }

uint64_t PageSize(int level) { return uint64_t{1} << LevelShift(level); }

uint64_t TableIndex(uint64_t gva, int level) {
  return (gva >> LevelShift(level)) % spte::kEntriesPerTable;
}

// Bits 63:48 copy bit 47.
uint64_t Canonical(uint64_t gva) {
  return static_cast<uint64_t>(static_cast<int64_t>(gva << 16) >> 16);
}

bool IsLeaf(uint64_t entry, int level) {
  return level == 1 || (entry & spte::kPageSize) != 0;
}

// SDM 4.5.4: bits above MAXPHYADDR, PS in a PML4E, and the frame bits of a
// large page below its size (bit 12 is PAT there, not an address bit).
bool HasReservedBits(uint64_t entry, int level) {
  if ((entry & spte::kReservedMask) != 0) return true;
  if ((entry & spte::kPageSize) == 0 || level == 1) return false;
  if (level == 4) return true;
  const uint64_t unaligned = (PageSize(level) - 1) & ~uint64_t{0x1FFF};
  return (entry & unaligned) != 0;
}

// SDM 4.6: W and U are ANDed over the levels, NX is ORed.
struct Rights {
  bool writable = true;
  bool user = true;
  bool nx = false;

  Rights Through(uint64_t entry) const {
    return {writable && (entry & spte::kWritable) != 0,
            user && (entry & spte::kUser) != 0, nx || (entry & spte::kNx) != 0};
  }
};

// Reads again rather than reusing the walked value: a broken MMU may make two
// levels share an entry, and the second update must not undo the first.
uint64_t SetBits(HostMemory& memory, uint64_t entry_hpa, uint64_t bits) {
  const uint64_t old_value = memory.Read64(entry_hpa);
  if ((old_value & bits) != bits) memory.Write64(entry_hpa, old_value | bits);
  return old_value | bits;
}

void CollectLeaves(const HostMemory& memory, uint64_t table, int level,
                   uint64_t gva_base, const Rights& rights,
                   std::vector<HostMapping>* out,
                   std::vector<uint64_t>* tables_read) {
  const uint64_t hfn = table / HostMemory::kPageBytes;
  if (tables_read != nullptr) tables_read->push_back(hfn);
  const uint8_t* bytes = memory.FrameBytes(hfn);
  if (bytes == nullptr) return;  // never written: nothing present
  for (uint64_t i = 0; i < spte::kEntriesPerTable; ++i) {
    uint64_t entry;
    std::memcpy(&entry, bytes + 8 * i, sizeof(entry));
    if ((entry & spte::kPresent) == 0 || HasReservedBits(entry, level)) {
      continue;
    }
    const uint64_t gva = Canonical(gva_base + (i << LevelShift(level)));
    const Rights entry_rights = rights.Through(entry);
    if (IsLeaf(entry, level)) {
      const uint64_t size = PageSize(level);
      out->push_back({gva, size, spte::FrameAddress(entry) & ~(size - 1),
                      entry_rights.writable, entry_rights.user,
                      entry_rights.nx});
    } else {
      CollectLeaves(memory, spte::FrameAddress(entry), level - 1, gva,
                    entry_rights, out, tables_read);
    }
  }
}

}  // namespace

HostWalkTrace TraceHostWalk(const HostMemory& memory, const HostRoot& root,
                            uint64_t gva) {
  HostWalkTrace trace;
  uint64_t table;
  int level;
  if (root.kind == HostRoot::Kind::kPae) {
    if ((gva >> 32) != 0) return trace;
    const uint64_t entry_hpa =
        (root.hpa & kPaeRootMask) + 8 * ((gva >> 30) % kPaeRootEntries);
    const uint64_t entry = memory.Read64(entry_hpa);
    trace.levels.push_back({kPaeRootLevel, entry_hpa, entry});
    if ((entry & spte::kPresent) == 0) return trace;
    table = spte::FrameAddress(entry);
    level = kPaeRootLevel - 1;
  } else {
    if (Canonical(gva) != gva) return trace;
    table = spte::FrameAddress(root.hpa);
    level = 4;
  }
  Rights rights;
  for (;; --level) {
    const uint64_t entry_hpa = table + 8 * TableIndex(gva, level);
    const uint64_t entry = memory.Read64(entry_hpa);
    trace.levels.push_back({level, entry_hpa, entry});
    if ((entry & spte::kPresent) == 0) return trace;
    if (HasReservedBits(entry, level)) {
      trace.error_code = kPfPresent | kPfReserved;
      return trace;
    }
    rights = rights.Through(entry);
    if (IsLeaf(entry, level)) {
      const uint64_t size = PageSize(level);
      trace.ok = true;
      trace.page_size = size;
      trace.hpa =
          (spte::FrameAddress(entry) & ~(size - 1)) | (gva & (size - 1));
      trace.writable = rights.writable;
      trace.user = rights.user;
      trace.nx = rights.nx;
      trace.dirty = (entry & spte::kDirty) != 0;
      return trace;
    }
    table = spte::FrameAddress(entry);
  }
}

HostWalkTrace WalkHostForAccess(HostMemory& memory, const HostRoot& root,
                                uint64_t gva, AccessKind kind, bool user) {
  HostWalkTrace trace = TraceHostWalk(memory, root, gva);
  const uint32_t access_bits = AccessErrorBits(kind, user);
  if (!trace.ok) {
    trace.error_code |= access_bits;
    return trace;
  }
  if (!HostRightsAllow(trace.writable, trace.user, trace.nx, kind, user)) {
    trace.ok = false;
    trace.error_code = kPfPresent | access_bits;
    return trace;
  }
  const size_t first = root.kind == HostRoot::Kind::kPae ? 1 : 0;
  const size_t leaf = trace.levels.size() - 1;
  for (size_t i = first; i < leaf; ++i) {
    SetBits(memory, trace.levels[i].entry_hpa, spte::kAccessed);
  }
  const uint64_t leaf_bits =
      spte::kAccessed | (kind == AccessKind::kWrite ? spte::kDirty : 0);
  const uint64_t leaf_value =
      SetBits(memory, trace.levels[leaf].entry_hpa, leaf_bits);
  trace.dirty = (leaf_value & spte::kDirty) != 0;
  return trace;
}

uint32_t AccessErrorBits(AccessKind kind, bool user) {
  uint32_t bits = user ? kPfUser : 0;
  if (kind == AccessKind::kWrite) bits |= kPfWrite;
  // The host has EFER.NXE=1, so fetches always report I/D.
  if (kind == AccessKind::kFetch) bits |= kPfFetch;
  return bits;
}

bool HostRightsAllow(bool writable, bool user_page, bool nx, AccessKind kind,
                     bool user) {
  if (user && !user_page) return false;
  if (kind == AccessKind::kWrite && !writable) return false;
  if (kind == AccessKind::kFetch && nx) return false;
  return true;
}

void EnumerateHostMappings(const HostMemory& memory, const HostRoot& root,
                           std::vector<HostMapping>* out,
                           std::vector<uint64_t>* tables_read) {
  out->clear();
  if (root.kind == HostRoot::Kind::kPae) {
    const uint64_t root_hpa = root.hpa & kPaeRootMask;
    if (tables_read != nullptr) {
      tables_read->push_back(root_hpa / HostMemory::kPageBytes);
    }
    for (uint64_t i = 0; i < kPaeRootEntries; ++i) {
      const uint64_t entry = memory.Read64(root_hpa + 8 * i);
      if ((entry & spte::kPresent) == 0) continue;
      CollectLeaves(memory, spte::FrameAddress(entry), kPaeRootLevel - 1,
                    i << LevelShift(kPaeRootLevel), Rights{}, out, tables_read);
    }
  } else {
    CollectLeaves(memory, spte::FrameAddress(root.hpa), 4, 0, Rights{}, out,
                  tables_read);
  }
}

}  // namespace shadowdiff::host
