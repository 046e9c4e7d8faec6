#ifndef SHADOWDIFF_TESTS_FUZZ_SEED_CASES_H_
#define SHADOWDIFF_TESTS_FUZZ_SEED_CASES_H_

#include <vector>

#include "proto/case.pb.h"

namespace shadowdiff::testing {

// Every case of corpus/seeds, normalized, in file order.
std::vector<Case> SeedCases();

}  // namespace shadowdiff::testing

#endif  // SHADOWDIFF_TESTS_FUZZ_SEED_CASES_H_
