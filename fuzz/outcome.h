#ifndef SHADOWDIFF_FUZZ_OUTCOME_H_
#define SHADOWDIFF_FUZZ_OUTCOME_H_

#include <cstdint>
#include <string>

#include "host/host_cpu.h"
#include "model/reference.h"

namespace shadowdiff {

// What one op did, in terms both translators share, so they can be compared.
struct Outcome {
  enum class Kind {
    kNone,       // the op has no observable result (writes, INVLPG)
    kOk,         // access done: value (loads), hpa
    kPageFault,  // #PF: error_code, cr2
    kMmio,       // access to a gpa outside RAM
    kAccepted,   // CR3 or control load took effect
    kGp,         // CR3 or control load refused with #GP
    kLivelock,   // the MMU kept faulting without progress
    kMmuError,   // the MMU reported an internal error
  };
  Kind kind = Kind::kNone;
  uint64_t value = 0;
  uint64_t hpa = 0;
  uint64_t gpa = 0;
  uint32_t error_code = 0;
  uint64_t cr2 = 0;
  bool has_value = false;  // a load: value is part of the result

  bool operator==(const Outcome&) const = default;
};

Outcome FromReference(const model::AccessResult& r, bool is_load);
Outcome FromHost(const host::HostAccessResult& r, bool is_load);
Outcome FromAcceptance(bool accepted);

// "ok hpa=0x1000123 value=0x2a", "#PF error=0x7 (P|W|U) cr2=0x400000", ...
std::string ToString(const Outcome& o);
std::string ErrorCodeText(uint32_t error_code);
// The error code bits set in `bits`, joined by "|": "P|W|U|RSVD|I", the first
// letter of each flag's name in SDM figure 4-12 (W/R, U/S, I/D), as in
// reports and signatures alike; "" when none is set.
std::string ErrorCodeBitNames(uint32_t bits);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_OUTCOME_H_
