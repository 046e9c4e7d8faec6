#ifndef SHADOWDIFF_FUZZ_SIGNATURE_H_
#define SHADOWDIFF_FUZZ_SIGNATURE_H_

#include <string>

#include "fuzz/divergence.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// A divergence's stable signature: what kind of thing went wrong where, with
// no address, value or op index in it, so that two findings of one bug tend
// to share it and two bugs tend not to. Fields, '/'-separated:
//   kind       outcome, memory, mapping, rights, ..., mmu-error
//   op         set-up, end, store, load, fetch, write_entry, phys_write,
//              invlpg, load_cr3, set_control (the op the divergence is at)
//   mode       32-bit, pae, 4-level
//   level      L1..L4: the reference walk's faulting level, or its leaf's;
//              L- without a walk
//   outcomes   ref=KIND,mmu=KIND (ok, pf, mmio, accepted, gp, none, ...)
//   ec         the error-code bits that differ between two #PFs
//              ("ec^=W|U", "ec^=I"), or "ec=same"
// e.g. "outcome/load/pae/L1/ref=pf,mmu=ok/ec=same".
std::string Signature(const Case& c, const Divergence& d);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_SIGNATURE_H_
