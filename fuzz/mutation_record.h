#ifndef SHADOWDIFF_FUZZ_MUTATION_RECORD_H_
#define SHADOWDIFF_FUZZ_MUTATION_RECORD_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace shadowdiff {

// The moves of the structure-aware mutator that made the input it produced
// last, kept so that a finding's report can name them (as libFuzzer's "MS:"
// line names its own). Only that one input is remembered: the fuzzer runs
// each input right after making it.
void RecordMutation(std::span<const uint8_t> input,
                    const std::vector<const char*>& moves);

// "StaleAccess-AimTableWrite" when `input` is the one last recorded.
std::optional<std::string> MovesThatMade(std::span<const uint8_t> input);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_MUTATION_RECORD_H_
