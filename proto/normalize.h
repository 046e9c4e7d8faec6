#ifndef SHADOWDIFF_PROTO_NORMALIZE_H_
#define SHADOWDIFF_PROTO_NORMALIZE_H_

#include "proto/case.pb.h"

namespace shadowdiff {

// Maps any parsed case onto the documented ranges of proto/case.proto.
// Deterministic and idempotent: Normalize(Normalize(c)) == Normalize(c), so a
// reproducer saved after normalization reproduces unchanged.
void Normalize(Case& c);

// True when the case has nothing to run (no memory slot after normalization).
bool IsEmpty(const Case& c);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_PROTO_NORMALIZE_H_
