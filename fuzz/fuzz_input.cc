#include "fuzz/fuzz_input.h"

#include <string>
#include <string_view>

#include "fuzz/case_file.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace shadowdiff {
namespace {

// Text seeds are reviewed files: a parse error there is not the fuzzer's
// business, and printing it for every mutated input would drown the log.
// (Without a collector of its own the parser logs every error.)
class IgnoreErrors final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {}
};

}  // namespace

bool ParseFuzzInput(const uint8_t* data, size_t size, Case* c) {
  // The order ReadCaseFile takes, so that a crash file replays as it ran:
  // the format the content looks like first, then the other.
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parse_text = [&] {
    c->Clear();
    google::protobuf::TextFormat::Parser parser;
    IgnoreErrors ignore_errors;
    parser.RecordErrorsTo(&ignore_errors);
    return parser.ParseFromString(std::string(bytes), c);
  };
  auto parse_binary = [&] {
    c->Clear();
    return c->ParseFromArray(data, static_cast<int>(size));
  };
  if (LooksLikeText(bytes)) return parse_text() || parse_binary();
  return parse_binary() || parse_text();
}

google::protobuf::ArenaOptions ArenaStartingIn(std::span<char> block) {
  google::protobuf::ArenaOptions options;
  options.initial_block = block.data();
  options.initial_block_size = block.size();
  return options;
}

}  // namespace shadowdiff
