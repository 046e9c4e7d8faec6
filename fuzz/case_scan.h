#ifndef SHADOWDIFF_FUZZ_CASE_SCAN_H_
#define SHADOWDIFF_FUZZ_CASE_SCAN_H_

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "model/paging_state.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// What the reference knows about a case just before one of its ops: the
// paging entries live at that point and the addresses worth aiming at. The
// mutator uses it to write where a shadow MMU has something to get wrong.
struct CaseScan {
  struct Entry {
    uint64_t gpa = 0;    // where the entry lives
    uint64_t value = 0;  // its value at that point
    int level = 0;       // 1 = leaf table
    uint64_t gva = 0;    // a gva whose walk uses it
  };
  // A gva whose page is itself a live table: a store there is the guest
  // editing its own tables.
  struct Alias {
    uint64_t gva = 0;
    uint64_t table_gfn = 0;
  };
  // A gva the guest may store to, and the data frame (not a live table) it
  // reaches.
  struct WritablePage {
    uint64_t gva = 0;
    uint64_t gfn = 0;
  };
  // Inline room for a typical case: the mutator scans for nearly every
  // mutation, and the fuzzer runs thousands a second.
  template <typename T>
  using List = absl::InlinedVector<T, 16>;

  model::PagingState state;
  List<Entry> entries;
  List<uint64_t> gvas;        // every gva the case accesses
  List<uint64_t> cr3s;        // every CR3 value the case loads
  List<uint64_t> table_gfns;  // frames holding live tables
  List<uint64_t> leaf_gfns;   // frames live leaves map
  List<Alias> aliases;
  List<WritablePage> writable_pages;
};

// Runs the reference on c's ops [0, op_count) and scans the state it reaches.
// c must be normalized.
CaseScan ScanCase(const Case& c, int op_count);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_CASE_SCAN_H_
