#ifndef SHADOWDIFF_MODEL_ACCESS_RIGHTS_H_
#define SHADOWDIFF_MODEL_ACCESS_RIGHTS_H_

#include <cstdint>
#include <optional>

#include "model/paging_state.h"
#include "model/walk.h"

namespace shadowdiff::model {

// The page-fault error code of an access of `kind` at the given privilege over
// `walk`, or nullopt if the access is allowed (SDM 4.6 and 4.7). A walk that
// did not complete faults with P=0 (not present) or P=1|RSVD (reserved bit).
std::optional<uint32_t> AccessFault(const WalkResult& walk,
                                    const PagingState& state, AccessKind kind,
                                    bool user);

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_ACCESS_RIGHTS_H_
