#include "fuzz/mutation_record.h"

#include "absl/strings/str_join.h"

namespace shadowdiff {
namespace {

struct Record {
  std::vector<uint8_t> input;
  std::string moves;
};

Record& Last() {
  static Record record;
  return record;
}

}  // namespace

void RecordMutation(std::span<const uint8_t> input,
                    const std::vector<const char*>& moves) {
  Record& last = Last();
  last.input.assign(input.begin(), input.end());
  last.moves = absl::StrJoin(moves, "-");
}

std::optional<std::string> MovesThatMade(std::span<const uint8_t> input) {
  const Record& last = Last();
  if (last.moves.empty() || !std::equal(input.begin(), input.end(),
                                        last.input.begin(), last.input.end())) {
    return std::nullopt;
  }
  return last.moves;
}

}  // namespace shadowdiff
