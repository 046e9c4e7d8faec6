#ifndef SHADOWDIFF_FUZZ_OP_TEXT_H_
#define SHADOWDIFF_FUZZ_OP_TEXT_H_

#include <string>

#include "proto/case.pb.h"

namespace shadowdiff {

// One line a person reads: "store 4 bytes 0x2a at gva 0x401000 (user)".
std::string OpText(const Op& op, PagingMode mode);

std::string ModeName(PagingMode mode);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_OP_TEXT_H_
